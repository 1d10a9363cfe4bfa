/**
 * The tagwerk browser tag, served as /t.js. One IIFE, no dependencies, every byte counted (the
 * budget is 1,024 bytes gzip, checked by tag/build.mjs and test/collect/tag.test.ts).
 *
 *   <script async src="https://EDGE/t.js" data-site="KEY" data-consent="required"></script>
 *
 * Configuration comes from the script element: `data-site`, the edge origin from its `src`, and
 * `data-consent="required"` for sites whose consent mode is `required` (a data attribute costs no
 * extra request and is known before the first event; the server enforces the same mode).
 * It never throws into the host page: every entry point is wrapped and failures are swallowed.
 */

type Call = [string, unknown?, unknown?];
type Tw = ((...args: Call) => void) & { q?: ArrayLike<unknown>[] };
type TagWindow = Window & { tw?: Tw; doNotTrack?: string };
type TagEvent = { type: string; ts: number; url: string; ref: string; name?: unknown; props?: unknown };

((w: TagWindow, d, n: Navigator & { globalPrivacyControl?: boolean }, h) => {
  try {
    const script = d.currentScript as HTMLScriptElement;
    const data = script.dataset;
    const edge = new URL(script.src).origin;
    // Global Privacy Control and Do-Not-Track: nothing is ever sent.
    const off = n.globalPrivacyControl || n.doNotTrack === "1" || w.doNotTrack === "1";
    let allowed = data.consent !== "required";
    let queue: TagEvent[] = [];
    let timer = 0;
    let last = "";

    const flush = () => {
      clearTimeout(timer);
      timer = 0;
      if (off || !allowed || !queue.length) return;
      // text/plain: anything else turns the beacon into a CORS preflight. sendBeacon sends
      // credentials, so the first-party tw_id cookie travels with it; fetch is the fallback.
      const body = JSON.stringify({ site: data.site, events: queue.splice(0, 50) });
      const url = `${edge}/e`;
      try {
        n.sendBeacon(url, body) ||
          fetch(url, { method: "POST", body, keepalive: true, credentials: "include" }).catch(() => {});
      } catch {}
    };

    // A purchase goes out at once: shops navigate away right after it, and a beacon sent while
    // the page is still alive is more dependable than one sent from pagehide.
    const push = (event: TagEvent, first?: boolean) => {
      first ? queue.unshift(event) : queue.push(event);
      if (queue.length >= 50 || event.type === "purchase") flush();
      else timer ||= setTimeout(flush, 1000) as unknown as number;
    };

    const make = (type: string, props?: unknown, name?: unknown): TagEvent => ({
      type,
      ts: Date.now(),
      url: location.href,
      ref: d.referrer,
      name,
      props,
    });

    // Slots get an iframe of /b/PLACEMENT, 300x250 or data-w/data-h until the creative, served
    // from the edge origin, posts {tw: "size", w, h} to its parent.
    const fill = () =>
      d.querySelectorAll<HTMLElement>("[data-tw-slot]").forEach((slot) => {
        if (slot.firstChild) return;
        const frame = d.createElement("iframe");
        frame.src = `${edge}/b/${encodeURIComponent(slot.dataset.twSlot!)}?site=${encodeURIComponent(data.site!)}`;
        frame.width = slot.dataset.w || "300";
        frame.height = slot.dataset.h || "250";
        frame.style.border = "0";
        frame.scrolling = "no";
        slot.append(frame);
      });

    const page = () => {
      if (location.href !== last) {
        last = location.href;
        push(make("page"));
      }
      fill();
    };

    const tw: Tw = (cmd, a, b) => {
      try {
        if (cmd === "consent") {
          // A denial is sent only where it reaches a visitor that was tracked on this page:
          // on a `required` site nothing leaves the browser before consent was granted.
          if (a || allowed) push(make(cmd, { granted: !!a }), true);
          if (a) allowed = true;
          flush();
          if (!a) {
            allowed = false;
            queue = [];
          }
        } else if (cmd === "page") page();
        else push(cmd === "event" ? make(cmd, b, a) : make(cmd, a));
      } catch {}
    };

    const early = w.tw?.q || [];
    w.tw = tw;
    page();
    for (const args of Array.from(early)) tw(...(Array.from(args) as Call));

    for (const m of ["pushState", "replaceState"] as const) {
      const original = h[m];
      h[m] = function (this: History, ...args: Parameters<History["pushState"]>) {
        original.apply(this, args);
        tw("page");
      };
    }
    w.addEventListener("popstate", () => tw("page"));
    w.addEventListener("pagehide", flush);
    d.addEventListener("visibilitychange", () => d.visibilityState === "hidden" && flush());
    w.addEventListener("message", (e) => {
      const m = e.data;
      if (e.origin === edge && m && m.tw === "size")
        d.querySelectorAll("iframe").forEach((f) => {
          if (f.contentWindow === e.source) {
            f.width = m.w;
            f.height = m.h;
          }
        });
    });
    // Slots that appear after the script ran (it is async) are filled once the DOM is complete.
    d.addEventListener("DOMContentLoaded", fill);
  } catch {}
})(window, document, navigator, history);
