import { createHmac, randomBytes } from 'node:crypto';

/** RFC 5849 section 3.6: RFC 3986 unreserved characters kept, everything else %XX in upper case. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface OAuth1Credentials {
  consumerKey: string;
  consumerSecret: string;
  token: string;
  tokenSecret: string;
}

/**
 * The `Authorization: OAuth ...` header of an HMAC-SHA1-signed request with no query and no body,
 * with a fresh nonce and the current timestamp, as a real consumer sends it. Written here from the
 * RFC rather than taken from the core so that the bench checks the server against an independent
 * signer.
 */
export function signOAuth1Request(method: string, baseUri: string, credentials: OAuth1Credentials): string {
  const params: [string, string][] = [
    ['oauth_consumer_key', credentials.consumerKey],
    ['oauth_nonce', randomBytes(12).toString('base64url')],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', String(Math.floor(Date.now() / 1000))],
    ['oauth_token', credentials.token],
    ['oauth_version', '1.0'],
  ];
  const normalized = params
    .map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const baseString = [method.toUpperCase(), encodeRfc3986(baseUri), encodeRfc3986(normalized)].join('&');
  const key = `${encodeRfc3986(credentials.consumerSecret)}&${encodeRfc3986(credentials.tokenSecret)}`;
  const signature = createHmac('sha1', key).update(baseString).digest('base64');
  const fields = [...params, ['oauth_signature', signature] as [string, string]]
    .map(([name, value]) => `${encodeRfc3986(name)}="${encodeRfc3986(value)}"`)
    .join(', ');
  return `OAuth ${fields}`;
}
