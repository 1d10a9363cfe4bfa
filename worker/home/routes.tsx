/**
 * `/`: what this Worker is, for whoever opens its address in a browser — a short page linking the
 * admin, the API reference and the health check (and the JSON answer for a script that asks).
 */
import { z } from "@hono/zod-openapi";
import { raw } from "hono/html";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";

export const homeRoutes = createRouter();

const LINKS = [
  { href: "/admin", label: "Admin", text: "segments, banners, coupon pools, audiences and what each rule earned" },
  { href: "/docs", label: "API reference", text: "every route with its parameters, answers and a try-it form" },
  { href: "/api/v1/openapi.json", label: "OpenAPI document", text: "the same reference, machine-readable" },
  { href: "/healthz", label: "Health", text: "the Worker answers and its database is reachable" },
] as const;

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:640px;margin:10vh auto;padding:0 1rem;color:#1d2330}
a{color:#2a5bd7}li{margin:.4rem 0}.muted{color:#5b6475}code{background:#f3f4f6;padding:0 .25em}`;

homeRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["Health"],
    operationId: "getHome",
    summary: "What this Worker is, with links to the admin, the API reference and the health check",
    security: [],
    responses: {
      200: {
        description: "An HTML page, or JSON for `Accept: application/json`",
        content: {
          "text/html": { schema: z.string() },
          "application/json": {
            schema: z.object({ name: z.string(), links: z.record(z.string(), z.string()) }),
          },
        },
      },
    },
  }),
  async (c) => {
    if ((c.req.header("Accept") ?? "").includes("application/json")) {
      return c.json({ name: "tagwerk", links: Object.fromEntries(LINKS.map((l) => [l.label, l.href])) }, 200);
    }
    // A fixed page, nothing from the request in it.
    return c.html(
      <>
        {raw("<!doctype html>")}
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>tagwerk</title>
            <style>{STYLE}</style>
          </head>
          <body>
            <h1>tagwerk</h1>
            <p>
              An edge tag and personalisation runtime for online shops: a tiny tag records visits under a first-party
              cookie, the Worker brings CRM customers and behaviour together and serves each visitor the banner with the
              next-best offer and a one-time coupon code.
            </p>
            <ul>
              {LINKS.map((l) => (
                <li>
                  <a href={l.href}>{l.label}</a> <span class="muted">— {l.text}</span>
                </li>
              ))}
            </ul>
            <p class="muted">
              Shops load the tag from <code>/t.js</code>; ad networks fetch banners from <code>/b/PLACEMENT</code>.
            </p>
          </body>
        </html>
      </>,
      200,
    );
  },
);
