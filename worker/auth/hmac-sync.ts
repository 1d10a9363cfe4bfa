/**
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) computed synchronously in JavaScript, for the one signature
 * made on every banner: the click token (worker/clicks/tokens.ts). `crypto.subtle.sign` costs a
 * platform call and a promise per signature, several times the hash itself for a payload of a
 * few hundred bytes (bench/RESULTS.md, "Decision path"). The key's inner and outer pad blocks are
 * hashed once, when the key is made, so a signature hashes only the message and one block more.
 * Verification stays with `crypto.subtle.verify` (constant-time), which also proves in every
 * click test that this code computes the same MAC as the platform's.
 */

function primes(count: number): number[] {
  const out: number[] = [];
  for (let n = 2; out.length < count; n++) if (out.every((p) => n % p !== 0)) out.push(n);
  return out;
}
const PRIMES = primes(64);
/** First 32 bits of the fractional parts of the cube roots (K) and square roots (H0) of the first primes (FIPS 180-4, 4.2.2, 5.3.3). */
const K = Uint32Array.from(PRIMES, (p) => Math.floor((Math.cbrt(p) % 1) * 2 ** 32));
const H0 = Uint32Array.from(PRIMES.slice(0, 8), (p) => Math.floor((Math.sqrt(p) % 1) * 2 ** 32));

const w = new Uint32Array(64);

/** One SHA-256 compression of the 64-byte block at `bytes[offset…]` into `h`. */
function compress(h: Uint32Array, bytes: Uint8Array, offset: number) {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15];
    const b = w[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = h[0];
  let b = h[1];
  let c = h[2];
  let d = h[3];
  let e = h[4];
  let f = h[5];
  let g = h[6];
  let hh = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

/** Continues the hash `state` (after `prefix` bytes) over `message`, with the final padding. */
function finish(state: Uint32Array, prefix: number, message: Uint8Array): Uint8Array {
  const h = state.slice();
  const length = message.length;
  const padded = new Uint8Array((((length + 8) >> 6) + 1) << 6);
  padded.set(message);
  padded[length] = 0x80;
  const bits = (prefix + length) * 8;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(padded.length - 4, bits >>> 0);
  for (let offset = 0; offset < padded.length; offset += 64) compress(h, padded, offset);
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, h[i]);
  return out;
}

export type HmacKey = { inner: Uint32Array; outer: Uint32Array };

/** The pad states of a key of at most 64 bytes (a derived 32-byte key here). */
export function hmacKey(key: Uint8Array): HmacKey {
  if (key.length > 64) throw new Error("HMAC key longer than one block");
  const pad = (byte: number) => {
    const block = new Uint8Array(64).fill(byte);
    for (let i = 0; i < key.length; i++) block[i] ^= key[i];
    const h = H0.slice();
    compress(h, block, 0);
    return h;
  };
  return { inner: pad(0x36), outer: pad(0x5c) };
}

export function hmacSha256Sync(key: HmacKey, message: Uint8Array): Uint8Array {
  return finish(key.outer, 64, finish(key.inner, 64, message));
}
