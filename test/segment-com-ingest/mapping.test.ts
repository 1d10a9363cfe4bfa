import { describe, expect, it } from "vitest";
import { mapSegmentMessage } from "../../worker/segment-com-ingest/mapping";

const NOW = 1_767_225_600_000;
const TW_ID = "0123456789abcdef0123456789abcdef";
const base = { anonymousId: TW_ID, userId: "C-1", timestamp: "2026-01-01T00:00:00.000Z", messageId: "m-1" };

describe("mapSegmentMessage (Segment spec → tagwerk server events)", () => {
  it("maps Product Viewed to a view of the product's sku (product_id when there is no sku)", () => {
    const mapped = mapSegmentMessage(
      {
        ...base,
        type: "track",
        event: "Product Viewed",
        properties: { product_id: 42, name: "Ring", category: "rings", price: "19.90" },
      },
      NOW,
    );
    expect(mapped).toEqual({
      event: {
        cookie_id: TW_ID,
        customer: "C-1",
        ts: NOW,
        type: "view",
        props: { sku: "42", name: "Ring", category: "rings", price: 19.9 },
      },
    });
  });

  it("maps Product Added and Product Removed to cart add and remove with their quantity", () => {
    const added = mapSegmentMessage(
      { ...base, type: "track", event: "Product Added", properties: { sku: "R-1", quantity: 2 } },
      NOW,
    );
    const removed = mapSegmentMessage(
      { ...base, type: "track", event: "Product Removed", properties: { sku: "R-1" } },
      NOW,
    );
    expect(added).toMatchObject({ event: { type: "cart", props: { sku: "R-1", action: "add", qty: 2 } } });
    expect(removed).toMatchObject({ event: { type: "cart", props: { sku: "R-1", action: "remove", qty: 1 } } });
  });

  it("maps Order Completed to a purchase with order, revenue (else total), currency, coupon and items", () => {
    const properties = {
      order_id: "O-1",
      total: 120,
      revenue: 99.5,
      currency: "EUR",
      coupon: "SAVE10",
      products: [{ product_id: "R-1", price: 49.75, quantity: 2 }],
    };
    expect(mapSegmentMessage({ ...base, type: "track", event: "Order Completed", properties }, NOW)).toMatchObject({
      event: {
        type: "purchase",
        props: {
          order: "O-1",
          value: 99.5,
          currency: "EUR",
          coupon: "SAVE10",
          items: [{ sku: "R-1", price: 49.75, qty: 2 }],
        },
      },
    });
    const totalOnly = mapSegmentMessage(
      { ...base, type: "track", event: "Order Completed", properties: { order_id: 7, total: 120 } },
      NOW,
    );
    expect(totalOnly).toMatchObject({ event: { props: { order: "7", value: 120 } } });
  });

  it("passes a revenue of the wrong kind on unchanged, so that validation refuses it instead of storing nothing", () => {
    const mapped = mapSegmentMessage(
      { ...base, type: "track", event: "Order Completed", properties: { order_id: "O-1", revenue: "lots" } },
      NOW,
    );
    expect(mapped).toMatchObject({ event: { props: { value: "lots" } } });
  });

  it("maps any other track to a custom event with its name and its scalar properties", () => {
    const mapped = mapSegmentMessage(
      {
        ...base,
        type: "track",
        event: "Newsletter Signed Up",
        properties: { list: "weekly", count: 1, nested: { a: 1 } },
      },
      NOW,
    );
    expect(mapped).toMatchObject({
      event: { type: "event", name: "Newsletter Signed Up", props: { list: "weekly", count: 1 } },
    });
    expect((mapped as { event: { props: object } }).event.props).not.toHaveProperty("nested");
  });

  it("maps identify to an identify of userId for the tw_id in anonymousId, without traits", () => {
    const mapped = mapSegmentMessage({ ...base, type: "identify", traits: { email: "a@b.example" } }, NOW);
    expect(mapped).toEqual({
      event: { cookie_id: TW_ID, customer: "C-1", ts: NOW, type: "identify", props: { customer: "C-1" } },
    });
  });

  it("maps page to a page view with the url from properties, else from context.page", () => {
    expect(
      mapSegmentMessage({ ...base, type: "page", properties: { url: "https://shop.example/a" } }, NOW),
    ).toMatchObject({
      event: { type: "page", url: "https://shop.example/a" },
    });
    expect(
      mapSegmentMessage(
        { ...base, type: "page", context: { page: { url: "https://shop.example/b", referrer: "https://x.example/" } } },
        NOW,
      ),
    ).toMatchObject({ event: { type: "page", url: "https://shop.example/b", ref: "https://x.example/" } });
  });

  it("ignores an anonymousId that is not a tw_id, and refuses a message that then names nobody", () => {
    const uuid = "5b6e7c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b";
    expect(mapSegmentMessage({ type: "page", anonymousId: uuid, userId: "C-1" }, NOW)).toEqual({
      event: { customer: "C-1", ts: NOW, type: "page" },
    });
    expect(mapSegmentMessage({ type: "page", anonymousId: uuid }, NOW)).toEqual({
      reason: "no subject: anonymousId is not a tw_id and there is no userId",
    });
  });

  it("refuses unsupported types, a track without event, an identify without a tw_id, and a bad timestamp", () => {
    expect(mapSegmentMessage({ ...base, type: "group" }, NOW)).toEqual({
      reason: "type: group is not supported (track, identify, page)",
    });
    expect(mapSegmentMessage({ ...base, type: "track" }, NOW)).toEqual({ reason: "track: needs event" });
    expect(mapSegmentMessage({ type: "identify", userId: "C-1", anonymousId: "x" }, NOW)).toEqual({
      reason: "identify: needs anonymousId set to the visitor's tw_id",
    });
    expect(mapSegmentMessage({ ...base, type: "page", timestamp: "yesterday" }, NOW)).toEqual({
      reason: "timestamp: not an ISO 8601 date",
    });
  });

  it("takes the type from the endpoint (/v1/track) when the message has none, and the receipt time without a timestamp", () => {
    expect(
      mapSegmentMessage({ anonymousId: TW_ID, event: "Product Viewed", properties: { sku: "R-1" } }, NOW, "track"),
    ).toEqual({
      event: { cookie_id: TW_ID, ts: NOW, type: "view", props: { sku: "R-1" } },
    });
  });
});
