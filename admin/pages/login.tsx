/** The login form: e-mail and password; errors are announced, and the e-mail entered is kept. */
import type { FC } from "hono/jsx";
import { ErrorAlert, Field, Layout } from "../ui";

export const LoginPage: FC<{ email?: string; error?: string }> = ({ email, error }) => (
  <Layout title="Log in">
    <div class="login">
      <h1>tagwerk admin</h1>
      <ErrorAlert message={error} />
      <form method="post" action="/admin/login" class="card">
        <Field label="E-mail" name="email" type="email" value={email} required autocomplete="username" />
        <Field label="Password" name="password" type="password" required autocomplete="current-password" />
        <div class="actions">
          <button type="submit">Log in</button>
        </div>
      </form>
    </div>
  </Layout>
);
