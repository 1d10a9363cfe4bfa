/**
 * The demo jewellery shop that `npm run dev` serves next to the Worker: category pages, product
 * pages, a cart and a checkout, each embedding the tag exactly as a real shop would paste it.
 * A separate origin from the edge (another port), as a shop and its tagwerk domain would be.
 */
import { Hono } from "hono";
import type { Child, FC } from "hono/jsx";
import { CATALOGUE, CATEGORIES, type DemoProduct, findProduct } from "./catalogue";
import { SHOP_CLIENT_JS } from "./shop-client";

export type ShopOptions = { edgeUrl: string; siteKey: string; consent?: "required" | "implied" };

const STYLE = `body{font:16px/1.5 Georgia,serif;margin:0;color:#222;background:#fbf8f4}
header{display:flex;gap:1.5rem;align-items:center;padding:1rem 2rem;background:#1d1a17;color:#f3e9d8}
header a{color:inherit;text-decoration:none}main{padding:1.5rem 2rem;max-width:1100px;margin:auto}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:1rem}
.card{background:#fff;border:1px solid #e6dccd;padding:1rem;border-radius:6px}
button{font:inherit;padding:.4rem .9rem;border:1px solid #1d1a17;background:#1d1a17;color:#fff;border-radius:4px;cursor:pointer}
.slot{margin:1rem 0;min-height:10px}#coupon-note{background:#e8f5e9;padding:.5rem 1rem;border-radius:4px}
label{display:block;margin:.5rem 0}input{font:inherit;padding:.3rem}`;

const Layout: FC<{ title: string; options: ShopOptions; view?: object; children?: Child }> = ({
  title,
  options,
  view,
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
  shop.get("/shop.js", (c) => c.body(SHOP_CLIENT_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }));
  shop.get("/", (c) =>
    c.html(
      <Layout title="Home" options={options}>
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
  shop.get("/category/:slug", (c) => {
    const category = CATEGORIES.find((cat) => cat.slug === c.req.param("slug"));
    if (!category) return c.text("No such category", 404);
    return c.html(
      <Layout title={category.title} options={options}>
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
      <Layout title={product.name} options={options} view={view}>
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
      <Layout title="Cart" options={options}>
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
      <Layout title="Checkout" options={options}>
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
      <Layout title="Thank you" options={options}>
        <h1>Thank you for your order</h1>
        <p>
          Order <strong id="order-id">{c.req.query("order") ?? ""}</strong> is confirmed.
        </p>
      </Layout>,
    ),
  );
  return shop;
}
