/**
 * `/admin`: the marketers' UI, server-rendered with Hono JSX. This sub-app owns what is specific to
 * a browser UI — login/logout, the session guard (logged out → 302 to /admin/login), CSRF origin
 * checks, a strict CSP (scripts and styles only from /admin/assets/) — and reads and writes
 * everything through the management API (admin/api.ts).
 */
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { clientIp } from "../worker/abuse/rate-limit";
import {
  clearSessionCookie,
  login,
  resolveSession,
  revokeSessions,
  SESSION_COOKIE,
  setSessionCookie,
  signSession,
  verifySession,
} from "../worker/auth/session";
import { logError } from "../worker/lib/log";
import { type AdminEnv, type ApiApp, ApiFailure, createApi } from "./api";
import { ADMIN_CSS } from "./assets";
import { CLIENT_SCRIPTS } from "./client.generated";
import { confirmDestructive } from "./confirm";
import { FRAME_PATHS } from "./frame";
import { audiencePages } from "./pages/audiences";
import { couponPages } from "./pages/coupons";
import { creativePages } from "./pages/creatives";
import { dashboardPage } from "./pages/dashboard";
import { explainPages } from "./pages/explain";
import { importPages } from "./pages/imports";
import { installPages } from "./pages/install";
import { LoginPage } from "./pages/login";
import { partnerPages } from "./pages/partners";
import { placementTagPages } from "./pages/placement-tag";
import { placementPages } from "./pages/placements";
import { poolPages } from "./pages/pools";
import { reportPages } from "./pages/reports";
import { rulePages } from "./pages/rules";
import { segmentPages } from "./pages/segments";
import { settingsPages } from "./pages/settings";
import { userPages } from "./pages/users";
import { Layout } from "./ui";
import { UPLOT_CSS } from "./uplot.generated";

export type AdminApp = Hono<AdminEnv>;

const ASSETS: Record<string, [string, string]> = {
  "admin.css": [ADMIN_CSS, "text/css; charset=utf-8"],
  // admin/client/*.ts, bundled by admin/build-assets.mjs (charts.js: uPlot with the chart script).
  ...Object.fromEntries(
    Object.entries(CLIENT_SCRIPTS).map(([file, js]): [string, [string, string]] => [
      file,
      [js, "text/javascript; charset=utf-8"],
    ]),
  ),
  "uplot.css": [UPLOT_CSS, "text/css; charset=utf-8"],
};

const adminHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    frameSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    objectSrc: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "same-origin",
});

/** `api` is the assembled app, passed in (not imported) so the admin pages call it without an import cycle. */
export function createAdminRoutes(api: ApiApp): AdminApp {
  const app: AdminApp = new Hono<AdminEnv>();

  app.use("/admin/*", async function adminSecurity(c, next) {
    c.header("Cache-Control", "no-store");
    if (FRAME_PATHS.has(c.req.path)) return next();
    return adminHeaders(c, next);
  });
  app.use("/admin", adminHeaders);
  // Every state-changing form post must come from our own origin (on top of SameSite=Strict).
  app.use("/admin/*", csrf());

  app.get("/admin/assets/:file", (c) => {
    const asset = ASSETS[c.req.param("file")];
    if (!asset) return c.text("Not found", 404);
    c.header("Cache-Control", "public, max-age=300");
    return c.body(asset[0], 200, { "Content-Type": asset[1] });
  });

  // "/admin/" (as people type it) is the dashboard too.
  app.get("/admin/", (c) => c.redirect("/admin", 301));

  app.get("/admin/login", async (c) => {
    if (await resolveSession(c.env, c.var.db, getCookie(c, SESSION_COOKIE))) return c.redirect("/admin", 302);
    return c.html(<LoginPage />);
  });

  app.post("/admin/login", async (c) => {
    const form = await c.req.parseBody();
    const email = typeof form.email === "string" ? form.email : "";
    const password = typeof form.password === "string" ? form.password : "";
    const result = await login(c.var.db, c.env, email, password, clientIp(c));
    if (result.status === "ok") {
      const token = await signSession(c.env, {
        userId: result.user.id,
        siteId: result.siteId,
        role: result.user.role,
        sessionVersion: result.sessionVersion,
      });
      setSessionCookie(c, token);
      return c.redirect("/admin", 302);
    }
    if (result.status === "locked") {
      const seconds = Math.ceil(result.retryAfterMs / 1000);
      c.header("Retry-After", String(seconds));
      return c.html(
        <LoginPage email={email} error={`Too many failed attempts. Try again in ${seconds} seconds.`} />,
        429,
      );
    }
    return c.html(<LoginPage email={email} error="Wrong e-mail or password." />, 401);
  });

  // Logout ends the session everywhere, not only in this browser: a copied cookie dies with it.
  app.post("/admin/logout", async (c) => {
    const session = await verifySession(c.env, getCookie(c, SESSION_COOKIE) ?? "").catch(() => null);
    if (session) await revokeSessions(c.var.db, session.userId);
    clearSessionCookie(c);
    return c.redirect("/admin/login", 302);
  });

  const guard = createMiddleware<AdminEnv>(async function requireSession(c, next) {
    const session = await resolveSession(c.env, c.var.db, getCookie(c, SESSION_COOKIE));
    if (!session) {
      clearSessionCookie(c);
      return c.redirect("/admin/login", 302);
    }
    c.set("site", session.site);
    c.set("role", session.user.role);
    c.set("adminUser", session.user);
    c.set("user", { email: session.user.email, role: session.user.role, siteName: session.site.name });
    c.set("api", createApi(c, api, getCookie(c, SESSION_COOKIE) ?? ""));
    await next();
  });
  app.use("/admin", guard);
  app.use("/admin/*", guard);
  app.use("/admin/*", confirmDestructive);

  dashboardPage(app);
  segmentPages(app);
  creativePages(app);
  rulePages(app);
  placementTagPages(app);
  placementPages(app);
  poolPages(app);
  audiencePages(app);
  partnerPages(app);
  reportPages(app);
  explainPages(app);
  couponPages(app);
  importPages(app);
  installPages(app);
  settingsPages(app);
  userPages(app);

  app.onError((err, c) => {
    const user = c.get("user");
    if (err instanceof HTTPException) {
      return c.html(
        <Layout title="Refused" user={user}>
          <h1>Refused</h1>
          <p>
            {err.status === 403
              ? "This form was not sent from the tagwerk admin itself, so it was refused. Reload the page and try again."
              : err.message || "The request was refused."}
          </p>
        </Layout>,
        err.status,
      );
    }
    if (err instanceof ApiFailure) {
      const status = err.status === 404 ? 404 : err.status === 403 ? 403 : 400;
      return c.html(
        <Layout title="Not available" user={user}>
          <h1>{status === 404 ? "Not found" : "Not allowed"}</h1>
          <p>{err.error.message}</p>
          <p>
            <a href="/admin">Back to the dashboard</a>
          </p>
        </Layout>,
        status,
      );
    }
    logError("admin.failed", { requestId: c.var.requestId, error: err, stack: (err as Error)?.stack });
    return c.html(
      <Layout title="Error" user={user}>
        <h1>Something went wrong</h1>
        <p>Quote the X-Request-Id header when reporting it.</p>
      </Layout>,
      500,
    );
  });

  return app;
}
