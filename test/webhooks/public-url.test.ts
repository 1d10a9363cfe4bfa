/**
 * Webhook SSRF (worker/webhooks/public-url.ts): internal addresses are refused however they are
 * written, when a webhook is created, when it is changed, and again when a delivery is sent; the
 * deliveries list tells a tenant a category of failure, never what a receiver answered.
 */
import { createExecutionContext, createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";
import type { WebhookMessage } from "../../worker/pipeline/messages";
import { QUEUES } from "../../worker/pipeline/queues";
import { sendToReceiver, webhookUrlProblem } from "../../worker/webhooks/public-url";
import { DOH_ENDPOINT } from "../../worker/webhooks/resolve";
import { call, createTestSite, errorOf } from "../fixtures/api";
import { dohAnswer } from "../fixtures/doh";

// Each was accepted before, or is a known way of writing an internal address.
const INTERNAL = [
  "https://127.0.0.1/",
  "https://127.0.0.1:8787/hook",
  "https://[::1]/",
  "https://[0:0:0:0:0:0:0:1]/",
  "https://169.254.169.254/latest/meta-data/",
  "https://10.0.0.5/",
  "https://172.16.3.4/",
  "https://172.31.255.255/",
  "https://192.168.1.1/",
  "https://100.64.0.1/",
  "https://0.0.0.0/",
  "https://0/",
  "https://2130706433/",
  "https://0x7f000001/",
  "https://0x7f.0.0.1/",
  "https://0177.0.0.1/",
  "https://017700000001/",
  "https://127.1/",
  "https://10.1/",
  "https://[::ffff:127.0.0.1]/",
  "https://[::ffff:a9fe:a9fe]/",
  "https://[::127.0.0.1]/",
  "https://[64:ff9b::a9fe:a9fe]/",
  "https://[2002:7f00:1::]/",
  "https://[fd00:ec2::254]/",
  "https://[fe80::1]/",
  "https://[ff02::1]/",
  "https://[::]/",
  "https://224.0.0.1/",
  "https://255.255.255.255/",
  "https://metadata.google.internal/computeMetadata/v1/",
  "https://metadata.google.internal./",
  "https://METADATA.GOOGLE.INTERNAL/",
  "https://metadata/",
  "https://localhost/",
  "https://LOCALHOST./",
  "https://api.localhost/",
  "https://printer.local/",
  "https://db.internal/",
  "https://router.home.arpa/",
  "https://intranet/",
  // Issue 29: wildcard DNS to loopback, metadata and cluster names, the rest of IANA's special ranges.
  "https://127.0.0.1.nip.io/",
  "https://10-0-0-7.sslip.io/",
  "https://app.localtest.me/",
  "https://localtest.me/",
  "https://lvh.me/",
  "https://169.254.169.254.hooks.example.com/",
  "https://hook-192-168-0-1.example.com/",
  "https://metadata.goog/computeMetadata/v1/",
  "https://kubernetes.default.svc/",
  "https://kubernetes.default.svc.cluster.local/",
  "https://1.0.0.127.in-addr.arpa/",
  "https://[::ffff:0:7f00:1]/",
  "https://[::ffff:0:a00:7]/",
  "https://[3fff::1]/",
  "https://[3fff:fff::1]/",
  "https://[5f00::1]/",
  "https://[2001:2::1]/",
  "https://[2001:10::1]/",
  "https://[64:ff9b:1::a00:1]/",
  "https://[64:ff9b::808:808]/",
  "https://[100::1]/",
  "https://[4000::1]/",
  "https://user:pass@hooks.example.com/",
  "http://hooks.example.com/",
  "http://localhost:3000/",
  "ftp://hooks.example.com/",
  "file:///etc/passwd",
  "not a url",
];

const PUBLIC = [
  "https://hooks.mailtool.example/tagwerk",
  "https://93.184.216.34/hook",
  "https://[2606:4700:4700::1111]/hook",
  "https://[3fff:1000::1]/",
  "https://[2001:4860:4860::8888]/",
  "https://hooks.nip.example/",
  "https://v1-2-3.example.com/",
  "https://8.8.8.8:8443/x",
  "https://172.32.0.1/",
  "https://100.128.0.1/",
];

describe("webhook URLs", () => {
  it.each(INTERNAL)("refuses %s", (url) => {
    expect(webhookUrlProblem(url, { allowLocalHttp: false })).not.toBeNull();
  });

  it.each(PUBLIC)("accepts the public %s", (url) => {
    expect(webhookUrlProblem(url, { allowLocalHttp: false })).toBeNull();
  });

  it("allows http to this machine only behind the explicit development setting, and nothing else with it", () => {
    for (const url of ["http://localhost:3000/hook", "http://127.0.0.1:9000/", "http://[::1]:9000/"]) {
      expect(webhookUrlProblem(url, { allowLocalHttp: false })).not.toBeNull();
      expect(webhookUrlProblem(url, { allowLocalHttp: true })).toBeNull();
    }
    for (const url of [
      "http://10.0.0.1/",
      "http://169.254.169.254/",
      "http://hooks.example.com/",
      "http://127.0.0.2/",
    ]) {
      expect(webhookUrlProblem(url, { allowLocalHttp: true })).not.toBeNull();
    }
  });
});

async function siteWithSegment() {
  const { apiKey } = await createTestSite();
  const segment = await call("/api/v1/segments", {
    method: "POST",
    key: apiKey,
    json: { name: "All", expression: "visits >= 0" },
  });
  return { apiKey, segmentId: ((await segment.json()) as { id: number }).id };
}

describe("the webhooks API", () => {
  it("refuses every internal address at creation and at update, with a clear 400", async () => {
    const { apiKey, segmentId } = await siteWithSegment();
    const created = await call("/api/v1/webhooks", {
      method: "POST",
      key: apiKey,
      json: { url: "https://hooks.example.com/x", segment_id: segmentId },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    for (const url of INTERNAL) {
      const post = await call("/api/v1/webhooks", {
        method: "POST",
        key: apiKey,
        json: { url, segment_id: segmentId },
      });
      expect(post.status, url).toBe(400);
      expect((await errorOf(post)).message).toMatch(/^url: /);
      const patch = await call(`/api/v1/webhooks/${id}`, { method: "PATCH", key: apiKey, json: { url } });
      expect(patch.status, url).toBe(400);
    }
    const list = (await (await call("/api/v1/webhooks", { key: apiKey })).json()) as { webhooks: { url: string }[] };
    expect(list.webhooks.map((w) => w.url)).toEqual(["https://hooks.example.com/x"]);
  });
});

describe("deliveries", () => {
  afterEach(() => vi.restoreAllMocks());

  /** A webhook row with `url` written straight to D1 (as one stored before these rules would be). */
  async function plantedDelivery(url: string) {
    const { apiKey, segmentId } = await siteWithSegment();
    const created = await call("/api/v1/webhooks", {
      method: "POST",
      key: apiKey,
      json: { url: "https://hooks.example.com/x", segment_id: segmentId },
    });
    const { id } = (await created.json()) as { id: number };
    await env.DB.prepare("update webhooks set url = ? where id = ?").bind(url, id).run();
    const site = await env.DB.prepare("select site_id from webhooks where id = ?")
      .bind(id)
      .first<{ site_id: number }>();
    const delivery = await env.DB.prepare(
      "insert into webhook_deliveries (site_id, webhook_id, payload, created_at) values (?, ?, '{}', ?) returning id",
    )
      .bind(site?.site_id, id, Date.now())
      .first<{ id: number }>();
    return { apiKey, webhookId: id, deliveryId: delivery?.id as number };
  }

  async function deliver(deliveryId: number, attempts = 1) {
    const batch = createMessageBatch<WebhookMessage>(QUEUES.webhooks.name, [
      { id: `d${deliveryId}`, timestamp: new Date(), attempts, body: { delivery_id: deliveryId } as WebhookMessage },
    ]);
    await worker.queue(batch, env);
    createExecutionContext();
  }

  async function lastError(apiKey: string, webhookId: number) {
    const res = await call(`/api/v1/webhooks/${webhookId}/deliveries`, { key: apiKey });
    return ((await res.json()) as { deliveries: { last_error: string | null }[] }).deliveries[0]?.last_error;
  }

  it("checks the address again at delivery time and sends nothing to an internal host stored earlier", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    for (const url of ["https://169.254.169.254/latest/meta-data/", "https://2130706433/", "https://[::1]/"]) {
      const { apiKey, webhookId, deliveryId } = await plantedDelivery(url);
      await deliver(deliveryId);
      expect(await lastError(apiKey, webhookId)).toBe("address not allowed");
    }
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("resolves the receiver's name at delivery and refuses it, for good, when an answer is not public", async () => {
    // A name that passes every spelling rule, pointed at private addresses by its owner's DNS.
    const records: Record<string, string[]> = {
      "hooks.rebound.example.com": ["93.184.216.34", "10.0.0.7"],
      "v6.rebound.example.com": ["2606:2800:220:1::1", "fd00:ec2::254"],
      "mapped.rebound.example.com": ["::ffff:127.0.0.1"],
    };
    const sent: string[] = [];
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      const dns = dohAnswer(request, records);
      if (dns) return dns;
      sent.push(request.url);
      return new Response(null, { status: 204 });
    });
    for (const name of Object.keys(records)) {
      const { apiKey, webhookId, deliveryId } = await plantedDelivery(`https://${name}/hook`);
      await deliver(deliveryId);
      expect(await lastError(apiKey, webhookId)).toBe("address not allowed: the name resolves to a non-public address");
      const [row] = (
        await env.DB.prepare("select status, attempts from webhook_deliveries where id = ?").bind(deliveryId).all()
      ).results;
      expect(row).toEqual({ status: "failed", attempts: 1 });
    }
    // Asked of Cloudflare's resolver as DNS JSON, A and AAAA; the receiver itself was never called.
    const asked = spy.mock.calls.map(([input, init]) => new Request(input, init).url);
    expect(asked).toContain(`${DOH_ENDPOINT}?name=hooks.rebound.example.com&type=A`);
    expect(asked).toContain(`${DOH_ENDPOINT}?name=hooks.rebound.example.com&type=AAAA`);
    expect(sent).toEqual([]);
  });

  it("takes its resolver as a parameter: a public answer is sent, a missing or failing one is not", async () => {
    const sent: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      sent.push(String(input instanceof Request ? input.url : input));
      return new Response(null, { status: 204 });
    });
    const init = { headers: {}, body: "{}" };
    const production = { WEBHOOKS_ALLOW_HTTP_LOCALHOST: "false" };
    const url = "https://hooks.example.com/x";
    expect(await sendToReceiver(url, init, production, async () => ["93.184.216.34"])).toBeUndefined();
    expect(await sendToReceiver(url, init, production, async () => ["93.184.216.34", "127.0.0.1"])).toBe(
      "address not allowed: the name resolves to a non-public address",
    );
    expect(await sendToReceiver(url, init, production, async () => ["3fff::10"])).toBe(
      "address not allowed: the name resolves to a non-public address",
    );
    expect(await sendToReceiver(url, init, production, async () => [])).toBe("name did not resolve");
    expect(
      await sendToReceiver(url, init, production, async () => {
        throw new Error("resolver down");
      }),
    ).toBe("name did not resolve");
    // An address literal is not resolved; fetch connects to it as written.
    expect(
      await sendToReceiver("https://93.184.216.34/x", init, production, async () => {
        throw new Error("must not be asked");
      }),
    ).toBeUndefined();
    expect(sent).toEqual([url, "https://93.184.216.34/x"]);
  });

  it("tells the tenant a category, never the receiver's status or the runtime's network error", async () => {
    // Failures are thrown synchronously: a rejected promise kept by the spy would be reported unhandled.
    const answers: (() => Promise<Response>)[] = [
      () => Promise.resolve(new Response("Unauthorized: admin realm on 10.0.0.7", { status: 401 })),
      () => Promise.resolve(new Response(null, { status: 302, headers: { Location: "http://169.254.169.254/" } })),
      () => Promise.resolve(new Response("upstream db-7 down", { status: 502 })),
      () => {
        throw new Error("Network connection lost.");
      },
      () => {
        throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
      },
    ];
    const expected = [
      "HTTP 4xx from receiver",
      "redirect not followed (HTTP 3xx from receiver)",
      "HTTP 5xx from receiver",
      "connection failed",
      "timeout",
    ];
    const seen: string[] = [];
    for (const answer of answers) {
      const { apiKey, webhookId, deliveryId } = await plantedDelivery("https://hooks.example.com/x");
      const spy = vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
        const dns = dohAnswer(new Request(input, init), { "hooks.example.com": ["93.184.216.34"] });
        if (dns) return Promise.resolve(dns);
        expect(init?.redirect).toBe("manual");
        return answer();
      });
      await deliver(deliveryId);
      spy.mockRestore();
      seen.push((await lastError(apiKey, webhookId)) ?? "");
    }
    expect(seen).toEqual(expected);
  });
});
