import { isSecretParam } from './route-contract/secret-params.js';

// The request line as logs may show it: the path, and the query with every
// credential's value replaced. Keys are matched as the query parser reads
// them (percent-decoded, `+` as space, `key[]`/`key[x]` as `key`), so
// `private%5Ftoken=` or `private_token[]=` is redacted like `private_token=`.

export const REDACTED = '[REDACTED]';

function decodeKey(raw: string): string {
  const spaced = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    // The parser rejects such a request with a 400; the key is still read
    // leniently here, escape by escape, so its log line cannot leak.
    return spaced.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const pairs = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    return isSecretParam(decodeKey(key).trim().toLowerCase()) ? `${key}=${REDACTED}` : pair;
  });
  return `${url.slice(0, q)}?${pairs.join('&')}`;
}
