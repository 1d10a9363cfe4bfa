/**
 * The demo shop's own browser script, served as /shop.js: a localStorage cart, coupon codes from
 * landing URLs, and the tag calls a real shop would make (view, cart, purchase); the order itself
 * goes to the shop's server, which reports it to tagwerk and signs the customer's identify.
 * Kept as a string so the Node demo server can serve it without a build step.
 */
export const SHOP_CLIENT_JS = `(function () {
  var CART = "demo-cart", COUPON = "demo-coupon";
  function tw() { window.tw.apply(null, arguments); }
  function read(key, fallback) { try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; } }
  function cart() { return read(CART, []); }
  function euro(n) { return n.toFixed(2) + " EUR"; }
  function total(items) { return items.reduce(function (s, i) { return s + i.price * i.qty; }, 0); }
  function save(items) { localStorage.setItem(CART, JSON.stringify(items)); render(); }

  var params = new URLSearchParams(location.search);
  if (params.get("coupon")) localStorage.setItem(COUPON, JSON.stringify(params.get("coupon")));

  function render() {
    var items = cart();
    var count = document.getElementById("cart-count");
    if (count) count.textContent = String(items.reduce(function (s, i) { return s + i.qty; }, 0));
    var coupon = read(COUPON, null);
    var note = document.getElementById("coupon-note");
    if (note) { note.hidden = !coupon; note.textContent = coupon ? "Coupon " + coupon + " applied" : ""; }
    var list = document.getElementById("cart-items");
    if (list) {
      list.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.textContent = item.qty + " × " + item.name + " — " + euro(item.price * item.qty) + " ";
        var remove = document.createElement("button");
        remove.textContent = "Remove";
        remove.setAttribute("data-remove", item.sku);
        li.appendChild(remove);
        list.appendChild(li);
      });
      var empty = document.getElementById("cart-empty");
      if (empty) empty.hidden = items.length > 0;
    }
    var sum = document.getElementById("cart-total");
    if (sum) sum.textContent = euro(total(items));
    var field = document.getElementById("coupon");
    if (field && coupon && !field.value) field.value = coupon;
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add]");
    if (add) {
      var p = JSON.parse(add.getAttribute("data-add"));
      var items = cart();
      var line = items.filter(function (i) { return i.sku === p.sku; })[0];
      if (line) line.qty += 1; else items.push({ sku: p.sku, name: p.name, category: p.category, price: p.price, qty: 1 });
      tw("cart", { action: "add", sku: p.sku, category: p.category, price: p.price, qty: 1 });
      save(items);
      add.textContent = "Added ✓";
    }
    var remove = event.target.closest("[data-remove]");
    if (remove) {
      var sku = remove.getAttribute("data-remove");
      var gone = cart().filter(function (i) { return i.sku === sku; })[0];
      if (gone) tw("cart", { action: "remove", sku: gone.sku, category: gone.category, price: gone.price, qty: gone.qty });
      save(cart().filter(function (i) { return i.sku !== sku; }));
    }
  });

  var form = document.getElementById("checkout");
  if (form) form.addEventListener("submit", function (event) {
    event.preventDefault();
    var items = cart();
    if (!items.length) return;
    var customer = form.elements.namedItem("customer").value.trim();
    var order = "D-" + Date.now().toString(36).toUpperCase();
    var coupon = form.elements.namedItem("coupon").value.trim();
    var purchase = { order: order, value: total(items), currency: "EUR", items: items.map(function (i) {
      return { sku: i.sku, category: i.category, price: i.price, qty: i.qty };
    }) };
    if (coupon) purchase.coupon = coupon;
    tw("purchase", purchase);
    // The order itself goes to the shop's own server, which reports it to tagwerk with its API key
    // and signs the customer's identify on the next pages: the browser states neither.
    fetch("/order", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ customer: customer || undefined, purchase: purchase }) })
      .catch(function () {})
      .then(function () {
        localStorage.removeItem(CART);
        localStorage.removeItem(COUPON);
        location.href = "/thanks?order=" + encodeURIComponent(order);
      });
  });

  var view = document.body.getAttribute("data-view");
  if (view) tw("view", JSON.parse(view));
  render();
})();`;
