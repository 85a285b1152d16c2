import { percentEncode } from './percent-encoding.js';

/** Name and value pairs, in request order; names may repeat (RFC 5849 section 3.4.1.3.1). */
export type ParameterList = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * RFC 5849 section 3.4.1.2: scheme and host in lower case, the port only when it is not the
 * scheme's default (80 for http, 443 for https), the path, and neither query nor fragment.
 */
export function buildBaseStringUri(url: URL | string): string {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  // The WHATWG parser already lowercases scheme and host and leaves `port` empty for the default
  // ports of http and https, which is exactly what the RFC asks for.
  const path = parsed.pathname === '' ? '/' : parsed.pathname;
  return `${parsed.protocol.toLowerCase()}//${parsed.host.toLowerCase()}${path}`;
}

/**
 * RFC 5849 section 3.4.1.3.2: encode every name and value, sort by encoded name then encoded
 * value (byte order: the encoded strings are ASCII, so code-unit order is byte order), join as
 * `name=value` pairs with `&`. `oauth_signature` never takes part (section 3.4.1.3.1).
 */
export function normalizeParameters(parameters: ParameterList): string {
  const encoded: Array<[string, string]> = [];
  for (const [name, value] of parameters) {
    if (name === 'oauth_signature') continue;
    encoded.push([percentEncode(name), percentEncode(value)]);
  }
  encoded.sort(([nameA, valueA], [nameB, valueB]) => compareAscii(nameA, nameB) || compareAscii(valueA, valueB));
  return encoded.map(([name, value]) => `${name}=${value}`).join('&');
}

/**
 * RFC 5849 section 3.4.1.1: the method in upper case, the base string URI and the normalized
 * parameters, each encoded, joined by `&`. `parameters` are every parameter of the request
 * (query, `Authorization` header without `realm`, form body when it is one), decoded.
 */
export function buildSignatureBaseString(method: string, url: URL | string, parameters: ParameterList): string {
  return [
    percentEncode(method.toUpperCase()),
    percentEncode(buildBaseStringUri(url)),
    percentEncode(normalizeParameters(parameters)),
  ].join('&');
}

function compareAscii(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
