/**
 * The tagwerk browser tag. One IIFE, no dependencies, every byte counted. Built twice from this
 * source by tag/build.mjs (the `CMP` constant is fixed at build time, so the base build carries
 * none of the CMP code):
 *   /t.js   the base tag, at most 1,024 bytes gzip;
 *   /tc.js  the same tag plus consent from the page's CMP (`data-consent="cmp"`), at most 1,400.
 *
 *   <script async src="https://EDGE/t.js" data-site="KEY" data-consent="required"></script>
 *   <script async src="https://EDGE/tc.js" data-site="KEY" data-consent="cmp"></script>
 *
 * Configuration comes from the script element: `data-site`, the edge from its `src` (the
 * directory it was loaded from, so a tag served under a path of the shop's own host — BASE_PATH,
 * e.g. https://shop.example/_tw/t.js — sends to that same path), and `data-consent`: any value but
 * `implied` holds every event until consent (a data attribute costs no extra request and is known
 * before the first event; the server enforces the site's mode as well).
 * It never throws into the host page: every entry point is wrapped and failures are swallowed.
 */

type Call = [string, unknown?, unknown?];
type Tw = ((...args: Call) => void) & { q?: ArrayLike<unknown>[] };
type TagWindow = Window & { tw?: Tw; doNotTrack?: string; __tcfapi?: TcfApi; dataLayer?: ArrayLike<unknown>[] };
/** The parts of IAB TCF v2's TCData the tag reads. */
type TcData = { eventStatus?: string; gdprApplies?: boolean; purpose?: { consents?: Record<number, boolean> } };
type TcfApi = (command: string, version: number, callback: (tcData: TcData, success: boolean) => void) => void;
/** Fixed by tag/build.mjs: true in the CMP-aware build (/tc.js) only. */
declare const CMP: boolean;
type TagEvent = { type: string; ts: number; url: string; ref: string; name?: unknown; props?: unknown };

((w: TagWindow, d, n: Navigator & { globalPrivacyControl?: boolean }, h) => {
  try {
    const script = d.currentScript as HTMLScriptElement;
    const data = script.dataset;
    const edge = new URL(script.src).origin;
    // The directory the tag came from, e.g. "https://shop.example/_tw/": /e and /b live beside it.
    const base = new URL(".", script.src).href;
    // Global Privacy Control and Do-Not-Track: nothing is ever sent.
    const off = n.globalPrivacyControl || n.doNotTrack === "1" || w.doNotTrack === "1";
    // "required" and "cmp" (and any value this tag does not know) wait for consent.
    let allowed = !data.consent || data.consent === "implied";
    let queue: TagEvent[] = [];
    let timer = 0;
    let last = "";
    // The frames this tag made: only they may resize themselves (a page has other sandboxed frames).
    const frames: HTMLIFrameElement[] = [];

    const flush = () => {
      clearTimeout(timer);
      timer = 0;
      if (off || !allowed || !queue.length) return;
      // text/plain: anything else turns the beacon into a CORS preflight. sendBeacon sends
      // credentials, so the first-party tw_id cookie travels with it; fetch is the fallback.
      const body = JSON.stringify({ site: data.site, events: queue.splice(0, 50) });
      const url = `${base}e`;
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
        frame.src = `${base}b/${encodeURIComponent(slot.dataset.twSlot!)}?site=${encodeURIComponent(data.site!)}`;
        frame.width = slot.dataset.w || "300";
        frame.height = slot.dataset.h || "250";
        frame.style.border = "0";
        frame.scrolling = "no";
        slot.append(frame);
        frames.push(frame);
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

    // Consent from the page's consent management platform (docs/architecture.md, "Consent"): IAB TCF
    // v2.2/2.3 when the page has `__tcfapi` (the CMP's stub is in the page before any tag, as the
    // TCF requires), otherwise Google Consent Mode v2 from the `dataLayer`. Each answer of the CMP
    // grants or withdraws; before the first one the tag holds everything. Inline in the IIFE: a
    // function beside it would be a global of the host page.
    if (CMP && data.consent === "cmp") {
      const answer = (granted: boolean) => granted !== allowed && tw("consent", granted);
      const tcf = w.__tcfapi;
      if (tcf) {
        // Purposes 1 (store and access information on a device) and 4 (use profiles to select
        // personalised advertising); outside the GDPR (`gdprApplies: false`) there is nothing to ask.
        // Only a loaded TC string or a finished user action is an answer: "cmpuishown" means the
        // visitor is still looking at the banner.
        tcf("addEventListener", 2, (tc, ok) => {
          if (ok && (tc.eventStatus === "tcloaded" || tc.eventStatus === "useractioncomplete")) {
            const consents = tc.purpose?.consents || {};
            answer(tc.gdprApplies === false || !!(consents[1] && consents[4]));
          }
        });
      } else {
        // Consent Mode v2: gtag('consent', 'default' | 'update', {...}) pushes its `arguments` object
        // (GTM templates push arrays); later updates merge into the state. Granted when all three
        // advertising signals are. Entries pushed before the tag loaded are read at once, later ones
        // through push (gtag's own snippet creates the same array with `dataLayer = dataLayer || []`).
        w.dataLayer ||= [];
        const layer = w.dataLayer as unknown[] & { push: (...items: unknown[]) => number };
        const state: Record<string, unknown> = {};
        let read = 0;
        const scan = () => {
          let seen = false;
          while (read < layer.length) {
            const entry = layer[read++] as ArrayLike<unknown> | undefined;
            if (entry && entry[0] === "consent" && (entry[1] === "default" || entry[1] === "update") && entry[2]) {
              Object.assign(state, entry[2]);
              seen = true;
            }
          }
          if (seen) answer(["ad_storage", "ad_user_data", "ad_personalization"].every((k) => state[k] === "granted"));
        };
        const push = layer.push;
        layer.push = function (this: unknown[], ...items: unknown[]) {
          const length = push.apply(this, items);
          try {
            scan();
          } catch {}
          return length;
        };
        scan();
      }
    }

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
    // /b's document is sandboxed (opaque origin "null", like any other sandboxed frame of the page):
    // the message is trusted only because it comes from the window of a frame this tag made.
    w.addEventListener("message", (e) => {
      const m = e.data;
      if ((e.origin === edge || e.origin === "null") && m && m.tw === "size")
        frames.forEach((f) => {
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
