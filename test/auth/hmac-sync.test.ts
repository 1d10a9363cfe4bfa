import { describe, expect, it } from "vitest";
import { toHex } from "../../worker/auth/crypto";
import { hmacKey, hmacSha256Sync } from "../../worker/auth/hmac-sync";

describe("HMAC-SHA256 in JavaScript (click tokens)", () => {
  it("computes the MAC WebCrypto computes, across block and padding boundaries", async () => {
    for (const keyLength of [1, 32, 64]) {
      const key = crypto.getRandomValues(new Uint8Array(keyLength));
      const platform = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const ours = hmacKey(key);
      for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 333, 1000]) {
        const message = crypto.getRandomValues(new Uint8Array(length));
        const expected = toHex(await crypto.subtle.sign("HMAC", platform, message));
        expect(toHex(hmacSha256Sync(ours, message)), `key ${keyLength} B, message ${length} B`).toBe(expected);
      }
    }
  });

  it("matches RFC 4231 test case 2", () => {
    const key = hmacKey(new TextEncoder().encode("Jefe"));
    const mac = hmacSha256Sync(key, new TextEncoder().encode("what do ya want for nothing?"));
    expect(toHex(mac)).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });
});
