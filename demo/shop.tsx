/**
 * The demo jewellery shop that `npm run dev` serves next to the Worker: category pages, product
 * pages, a cart and a checkout, each embedding the tag exactly as a real shop would paste it.
 * `npm run dev` serves tagwerk under the shop's own `/_tw` (same-origin serving, proxied to the
 * Worker); the browser tests also run one against the edge's own origin (another port).
 */
import { createHmac } from "node:crypto";
import { type Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { Child, FC } from "hono/jsx";
import { CATALOGUE, CATEGORIES, type DemoProduct, findProduct } from "./catalogue";
import { proxyToEdge } from "./edge-proxy";
import { SHOP_CLIENT_JS } from "./shop-client";

/** The path under which the demo shop serves tagwerk from its own origin (`npm run dev`). */
export const DEMO_BASE_PATH = "/_tw";

export type ShopOptions = {
  /** Where the page loads the tag from: the edge's own origin, or `/_tw` of the shop (proxy). */
  edgeUrl: string;
  siteKey: string;
  consent?: "required" | "implied";
  /** Same-origin serving: forward `/_tw/*` to the Worker at this URL (which runs with BASE_PATH=/_tw). */
  proxyTo?: string;
  /** The site's identity secret (docs/architecture.md, "Trust boundaries"); the demo site's local one by default. */
  identitySecret?: string;
  /** The API key the shop's server sends its orders with (POST /api/v1/events). */
  apiKey?: string;
};

const CUSTOMER_COOKIE = "demo_customer";

/**
 * What a shop's backend does for a signed-in customer: sign the customer ID and the time with the
 * identity secret, on the server, and write the identify into the page (README, "Identity
 * verification": the timestamped form, accepted for 24 hours). A browser cannot make `sig` itself.
 */
function signedIdentify(c: Context, options: ShopOptions): string | undefined {
  const customer = getCookie(c, CUSTOMER_COOKIE);
  if (!customer) return undefined;
  const ts = Math.floor(Date.now() / 1000);
  const sig = createHmac("sha256", options.identitySecret ?? "demo-identity-secret")
    .update(`${customer}.${ts}`)
    .digest("hex");
  // JSON in a script element: "<" escaped so a customer ID can never close the element.
  return `tw('identify', ${JSON.stringify({ customer, ts, sig }).replace(/</g, "\\u003c")})`;
}

const STYLE = `body{font:16px/1.5 Georgia,serif;margin:0;color:#222;background:#fbf8f4}
header{display:flex;gap:1.5rem;align-items:center;padding:1rem 2rem;background:#1d1a17;color:#f3e9d8}
header a{color:inherit;text-decoration:none}main{padding:1.5rem 2rem;max-width:1100px;margin:auto}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:1rem}
.card{background:#fff;border:1px solid #e6dccd;padding:1rem;border-radius:6px}
button{font:inherit;padding:.4rem .9rem;border:1px solid #1d1a17;background:#1d1a17;color:#fff;border-radius:4px;cursor:pointer}
.slot{margin:1rem 0;min-height:10px}#coupon-note{background:#e8f5e9;padding:.5rem 1rem;border-radius:4px}
label{display:block;margin:.5rem 0}input{font:inherit;padding:.3rem}`;

const Layout: FC<{ title: string; options: ShopOptions; view?: object; identify?: string; children?: Child }> = ({
  title,
  options,
  view,
  identify,
  children,
}) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{title} — Maison Bijou</title>
      <style>{STYLE}</style>
      {/* The queue stub keeps calls made before the tag has loaded. */}
      <script>{"window.tw=window.tw||function(){(tw.q=tw.q||[]).push(arguments)}"}</script>
      <script async src={`${options.edgeUrl}/t.js`} data-site={options.siteKey} data-consent={options.consent} />
      {/* Markup-safe: signedIdentify escapes "<" in the JSON it writes. */}
      {identify ? <script dangerouslySetInnerHTML={{ __html: identify }} /> : null}
    </head>
    <body data-view={view ? JSON.stringify(view) : undefined}>
      <header>
        <strong>
          <a href="/">Maison Bijou</a>
        </strong>
        {CATEGORIES.map((c) => (
          <a href={`/category/${c.slug}`}>{c.title}</a>
        ))}
        <a href="/cart">
          Cart (<span id="cart-count">0</span>)
        </a>
      </header>
      <main>
        <p id="coupon-note" hidden />
        {children}
      </main>
      <script src="/shop.js" />
    </body>
  </html>
);

const ProductCard: FC<{ product: DemoProduct }> = ({ product }) => (
  <div class="card">
    <h3>
      <a href={`/product/${product.sku}`}>{product.name}</a>
    </h3>
    <p>{product.price.toFixed(2)} EUR</p>
  </div>
);

export function createShop(options: ShopOptions) {
  const shop = new Hono();
  if (options.proxyTo) shop.all(`${DEMO_BASE_PATH}/*`, proxyToEdge(options.proxyTo));
  shop.get("/shop.js", (c) => c.body(SHOP_CLIENT_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }));
  shop.get("/", (c) =>
    c.html(
      <Layout identify={signedIdentify(c, options)} title="Home" options={options}>
        <h1>Fine jewellery since 1921</h1>
        <div class="slot" data-tw-slot="home-hero" />
        {CATEGORIES.map((category) => (
          <section>
            <h2>
              <a href={`/category/${category.slug}`}>{category.title}</a>
            </h2>
            <div class="grid">
              {CATALOGUE.filter((p) => p.category === category.slug)
                .slice(0, 3)
                .map((product) => (
                  <ProductCard product={product} />
                ))}
            </div>
          </section>
        ))}
      </Layout>,
    ),
  );
  // Product pictures for the catalogue's image_link: drawn here so the demo needs no image files.
  shop.get("/images/:file{[A-Za-z0-9-]+\\.svg}", (c) => {
    const product = findProduct(c.req.param("file").replace(/\.svg$/, ""));
    if (!product) return c.text("No such image", 404);
    return c.body(productSvg(product), 200, {
      "Content-Type": "image/svg+xml; charset=utf-8",
      "Cache-Control": "public, max-age=3600",
    });
  });
  shop.get("/category/:slug", (c) => {
    const category = CATEGORIES.find((cat) => cat.slug === c.req.param("slug"));
    if (!category) return c.text("No such category", 404);
    return c.html(
      <Layout identify={signedIdentify(c, options)} title={category.title} options={options}>
        <h1>{category.title}</h1>
        <div class="slot" data-tw-slot="category-top" />
        <div class="grid">
          {CATALOGUE.filter((p) => p.category === category.slug).map((product) => (
            <ProductCard product={product} />
          ))}
        </div>
      </Layout>,
    );
  });
  shop.get("/product/:sku", (c) => {
    const product = findProduct(c.req.param("sku"));
    if (!product) return c.text("No such product", 404);
    const view = { sku: product.sku, category: product.category, price: product.price, name: product.name };
    return c.html(
      <Layout identify={signedIdentify(c, options)} title={product.name} options={options} view={view}>
        <h1>{product.name}</h1>
        <p>{product.description}</p>
        <p>
          <strong>{product.price.toFixed(2)} EUR</strong>
        </p>
        <button type="button" data-add={JSON.stringify(view)}>
          Add to cart
        </button>
        <div class="slot" data-tw-slot="product-side" />
      </Layout>,
    );
  });
  shop.get("/cart", (c) =>
    c.html(
      <Layout identify={signedIdentify(c, options)} title="Cart" options={options}>
        <h1>Your cart</h1>
        <p id="cart-empty">Your cart is empty.</p>
        <ul id="cart-items" />
        <p>
          Total: <span id="cart-total">0.00 EUR</span>
        </p>
        <a href="/checkout">Go to checkout</a>
        <div class="slot" data-tw-slot="cart" />
      </Layout>,
    ),
  );
  shop.get("/checkout", (c) =>
    c.html(
      <Layout identify={signedIdentify(c, options)} title="Checkout" options={options}>
        <h1>Checkout</h1>
        <p>
          Total: <span id="cart-total">0.00 EUR</span>
        </p>
        <form id="checkout">
          <label>
            Customer number (optional) <input name="customer" id="customer" autocomplete="off" />
          </label>
          <label>
            Coupon code <input name="coupon" id="coupon" autocomplete="off" />
          </label>
          <button type="submit" id="place-order">
            Place order
          </button>
        </form>
      </Layout>,
    ),
  );
  shop.get("/thanks", (c) =>
    c.html(
      <Layout identify={signedIdentify(c, options)} title="Thank you" options={options}>
        <h1>Thank you for your order</h1>
        <p>
          Order <strong id="order-id">{c.req.query("order") ?? ""}</strong> is confirmed.
        </p>
      </Layout>,
    ),
  );
  // The shop's server reports the order itself (trusted): it links the visitor's cookie to the
  // customer and adds the order to the customer's CRM figures. The browser's purchase event is
  // behaviour of the cookie only.
  shop.post("/order", async (c) => {
    const { customer, purchase } = (await c.req.json()) as { customer?: string; purchase: Record<string, unknown> };
    if (customer) setCookie(c, CUSTOMER_COOKIE, customer, { path: "/", httpOnly: true, sameSite: "Lax" });
    const cookieId = getCookie(c, "tw_id");
    const who = { ...(cookieId ? { cookie_id: cookieId } : {}), ...(customer ? { customer } : {}) };
    if (!cookieId && !customer) return c.body(null, 204);
    const ts = Date.now();
    const events = [{ type: "purchase", ts, ...who, props: purchase }];
    if (customer && cookieId) events.unshift({ type: "identify", ts, ...who, props: { customer } });
    const res = await fetch(`${options.edgeUrl}/api/v1/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${options.apiKey ?? "demo-api-key"}`, "Content-Type": "application/json" },
      body: JSON.stringify({ events }),
    });
    return c.json({ edge: res.status }, 200);
  });
  return shop;
}

const CATEGORY_COLOURS: Record<DemoProduct["category"], [string, string]> = {
  rings: ["#f6e7c8", "#b8860b"],
  earrings: ["#f8e4ec", "#b0476f"],
  necklaces: ["#e6eef7", "#3f6fa5"],
  watches: ["#e9ece9", "#4a5a4a"],
};

/** A simple picture of a product (a gem on its category's colour); the name is XML-escaped. */
function productSvg(product: DemoProduct): string {
  const [background, ink] = CATEGORY_COLOURS[product.category];
  const name = product.name.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240"><rect width="240" height="240" fill="${background}"/><polygon points="120,40 170,90 120,180 70,90" fill="${ink}" opacity=".85"/><polygon points="70,90 170,90 120,180" fill="${ink}"/><text x="120" y="215" text-anchor="middle" font-family="Georgia,serif" font-size="14" fill="#2b1d10">${name}</text></svg>`;
}
