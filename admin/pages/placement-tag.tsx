/**
 * "Get tag" for a placement: the ready-to-paste third-party ad tag from
 * `GET /api/v1/placements/:placement/tag`, with the ad server chosen in a plain GET form — the page
 * is server-rendered, so choosing a network and copying the tag works without any script.
 */
import type { AdminApp } from "../app";
import { ErrorAlert, Layout } from "../ui";

const NETWORKS = [
  { value: "gam", label: "Google Ad Manager" },
  { value: "xandr", label: "Xandr (Microsoft Invest / Monetize)" },
  { value: "generic", label: "Any other ad server (no macros)" },
] as const;

type AdTag = {
  placement: string;
  network: string;
  width: number;
  height: number;
  macros: { click: string; cache_buster: string } | null;
  tag: string;
};

export const placementTagPath = (placement: string) => `/admin/placements/${encodeURIComponent(placement)}/tag`;

export function placementTagPages(app: AdminApp) {
  app.get("/admin/placements/:placement/tag", async (c) => {
    const placement = c.req.param("placement");
    const asked = c.req.query("network") ?? "gam";
    const network = NETWORKS.some((n) => n.value === asked) ? asked : "gam";
    const result = await c.var.api.call<AdTag>(
      "GET",
      `/api/v1/placements/${encodeURIComponent(placement)}/tag?network=${network}`,
    );
    return c.html(
      <Layout title={`Tag for ${placement}`} user={c.var.user} active="/admin/rules">
        <h1>
          Ad server tag for <code>{placement}</code>
        </h1>
        <p>
          <a href="/admin/rules">← Rules</a>
        </p>
        <form method="get" action={placementTagPath(placement)} class="card">
          <div class="field">
            <label for="f-network">Ad server</label>
            <select id="f-network" name="network">
              {NETWORKS.map((n) => (
                <option value={n.value} selected={n.value === network}>
                  {n.label}
                </option>
              ))}
            </select>
          </div>
          <div class="actions">
            <button type="submit">Show tag</button>
          </div>
        </form>
        {result.ok ? (
          <section class="card">
            <h2>Paste this into a third-party creative</h2>
            <p class="muted">
              Slot {result.data.width}×{result.data.height}.{" "}
              {result.data.macros
                ? `The ad server replaces ${result.data.macros.click} with its click redirector (clicks are counted on both sides) and ${result.data.macros.cache_buster} with a random number.`
                : "No ad-server macros: clicks go straight to tagwerk."}
            </p>
            <label for="ad-tag">Tag</label>
            <textarea id="ad-tag" readonly rows={4}>
              {result.data.tag}
            </textarea>
          </section>
        ) : (
          <ErrorAlert
            message={
              result.status === 404
                ? "This placement serves nothing yet: give it a fallback creative or an enabled rule first, then its size is known."
                : result.error.message
            }
          />
        )}
      </Layout>,
      result.ok ? 200 : result.status === 404 ? 404 : 400,
    );
  });
}
