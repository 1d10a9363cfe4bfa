/**
 * An ad server's UNESCAPED click macro in `/b?…&click=` (GAM `%%CLICK_URL_UNESC%%`, Xandr
 * `${CLICK_URL}`) expands to its redirector URL with its own `?` and `&`s, e.g.
 * `click=https://adclick.g.doubleclick.net/pcs/click?xai=AKA&sig=Cg0&adurl=`, which a query parser
 * splits into stray parameters. The tag puts `click=` last (worker/rules/ad-tag.ts), so when the
 * raw value starts with an unencoded `http(s)://`, everything after `click=` is the prefix.
 * Hand-written because no query parser has a "rest of the query" value; third-party ad servers
 * (Revive's `ct0=`, for one) use the same last-parameter rule. An encoded `click=` is left as is.
 */
export function encodeTrailingClickMacro(url: string): string | null {
  const q = url.indexOf("?");
  if (q < 0) return null;
  const query = url.slice(q + 1);
  const match = /(?:^|&)click=(https?:\/\/)/i.exec(query);
  if (!match) return null;
  const start = q + 1 + match.index + match[0].length - match[1].length;
  return `${url.slice(0, start)}${encodeURIComponent(url.slice(start))}`;
}
