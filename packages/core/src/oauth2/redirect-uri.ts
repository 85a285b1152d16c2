import { invalidRequest } from '../errors.js';
import { percentEncode } from '../oauth1/percent-encoding.js';

// RFC 8252 section 7.3: a native app listens on a loopback IP literal on any port it gets from
// the system, so only the port may differ from the registered URI. `localhost` joins them only
// when the server opts in: the RFC advises against it (section 8.3, a name can resolve elsewhere),
// yet native and command-line clients register it.
const LOOPBACK_URI = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(?::(\d{1,5}))?([/?][^#]*)?$/;

/** How redirect URIs are matched beyond exact equality. */
export interface RedirectMatching {
  /** A registered `http://localhost` URI matches any port, as the loopback IP literals do. */
  localhostAnyPort: boolean;
}

const IP_LITERALS_ONLY: RedirectMatching = { localhostAnyPort: false };

// Schemes that run code or read local data in the browser; never a redirect target.
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:', 'filesystem:', 'view-source:']);

/** Whether a requested redirect_uri matches a registered one: exactly, or by the loopback rule. */
export function matchesRedirectUri(requested: string, registered: string, matching: RedirectMatching = IP_LITERALS_ONLY): boolean {
  if (requested === registered) return true;
  const want = LOOPBACK_URI.exec(registered);
  if (!want || (want[1] === 'localhost' && !matching.localhostAnyPort)) return false;
  const got = LOOPBACK_URI.exec(requested);
  if (!got || !isPort(got[2])) return false;
  return got[1] === want[1] && (got[3] ?? '') === (want[3] ?? '');
}

/** The registered URI the requested one matches, or undefined. */
export function findRegisteredRedirectUri(
  requested: string,
  registered: readonly string[],
  matching: RedirectMatching = IP_LITERALS_ONLY,
): string | undefined {
  return registered.find((uri) => matchesRedirectUri(requested, uri, matching));
}

function isPort(text: string | undefined): boolean {
  if (text === undefined) return true;
  const port = Number(text);
  return port >= 1 && port <= 65535;
}

/** Whether a host is a loopback address, where http is acceptable (RFC 8252 section 8.3). */
function isLoopbackHost(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === '[::1]' || hostname === 'localhost';
}

// RFC 3986 section 2: unreserved and reserved ASCII characters, and percent-encoded octets.
// Only such a URI can be a Location header value as it stands (RFC 9110 section 10.2.2): Node
// refuses a header holding controls or characters above U+00FF, WHATWG URL parsing quietly drops
// tabs and line breaks that a stored value would still hold, and browsers read whitespace,
// quotes, backslashes and non-ASCII each their own way.
const URI_CHARACTERS = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
const OUTSIDE_URI_CHARACTERS = /[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]|%(?![0-9A-Fa-f]{2})/gu;

/**
 * Whether the text, a URI or a relative reference, is written in RFC 3986 characters only: what
 * a Location header carries as it stands.
 */
export function isUriText(text: string): boolean {
  return URI_CHARACTERS.test(text);
}

/** The text with every character outside RFC 3986's percent-encoded as UTF-8 (a lone `%` too, a lone surrogate as U+FFFD). */
export function toUriText(text: string): string {
  return text.replace(OUTSIDE_URI_CHARACTERS, percentEncode);
}

/**
 * The URI parsed when it is absolute and written in RFC 3986 characters only, else null. Every
 * URI the server sends a browser to passes here: OAuth 2 redirect URIs and OAuth 1.0a callbacks,
 * when registered, when requested, and when a Location is built from a stored one.
 */
export function parseLocationUri(uri: unknown): URL | null {
  if (typeof uri !== 'string' || !isUriText(uri) || !URL.canParse(uri)) return null;
  return new URL(uri);
}

/**
 * Checks a redirect URI at registration: absolute and in RFC 3986 characters (`parseLocationUri`),
 * no fragment (RFC 6749 section 3.1.2), https, or http on loopback (or anywhere when TLS is not
 * enforced), or a private-use scheme for native apps (RFC 8252 section 7.1); never javascript:,
 * data: and the like.
 */
export function assertValidRedirectUri(uri: string, enforceSecure: boolean): void {
  const url = parseLocationUri(uri);
  if (url === null) {
    throw invalidRequest(
      `Redirect URI ${JSON.stringify(uri)} is not an absolute URI of RFC 3986 characters (no whitespace, controls or unencoded non-ASCII).`,
    );
  }
  if (uri.includes('#')) throw invalidRequest(`Redirect URI ${JSON.stringify(uri)} must not have a fragment.`);
  if (url.username !== '' || url.password !== '') throw invalidRequest(`Redirect URI ${JSON.stringify(uri)} must not carry credentials.`);
  const scheme = url.protocol.toLowerCase();
  if (FORBIDDEN_SCHEMES.has(scheme)) throw invalidRequest(`Redirect URI scheme ${scheme} is not allowed.`);
  if (scheme === 'https:') return;
  if (scheme === 'http:') {
    if (enforceSecure && !isLoopbackHost(url.hostname)) {
      throw invalidRequest(`Redirect URI ${JSON.stringify(uri)} must use https (http only on a loopback address).`);
    }
    return;
  }
  // A private-use scheme (com.example.app:/callback). URL accepts "host:port" shaped strings as
  // schemes too, so insist on a scheme of letters, digits, "+", "-" and ".".
  if (!/^[a-z][a-z0-9+.-]*:$/.test(scheme) || scheme === 'ws:' || scheme === 'wss:' || scheme === 'ftp:') {
    throw invalidRequest(`Redirect URI scheme ${scheme} is not allowed.`);
  }
}

/**
 * Appends the response parameters to the redirect URI: in the query for the code flow (keeping
 * the registered query, RFC 6749 section 3.1.2), in the fragment for the implicit flow.
 */
export function buildRedirectLocation(
  redirectUri: string,
  parameters: Record<string, string | null | undefined>,
  mode: 'query' | 'fragment',
): string {
  const encoded = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) if (value !== null && value !== undefined) encoded.append(name, value);
  const text = encoded.toString();
  const base = dropResponseParameters(redirectUri);
  if (mode === 'fragment') return `${base}#${text}`;
  // Nothing to add (a logout without `state`): the registered URI as it is, with no dangling `?`.
  if (text === '') return base;
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}${text}`;
}

// The parameters only the server may put in a response (RFC 6749 sections 4.1.2, 4.2.2 and
// 5.2, RFC 9207). A registered query holding one of them would give the client two `code`s or a
// `state` it never sent, and clients that read the first value would take the attacker's.
const RESPONSE_PARAMETERS = new Set([
  'code', 'state', 'iss', 'error', 'error_description', 'error_uri',
  'access_token', 'token_type', 'expires_in', 'scope', 'refresh_token', 'id_token',
]);

/** The registered URI without response parameters in its query; everything else kept verbatim. */
function dropResponseParameters(redirectUri: string): string {
  const at = redirectUri.indexOf('?');
  if (at === -1) return redirectUri;
  const pairs = redirectUri.slice(at + 1).split('&');
  const kept = pairs.filter((pair) => !RESPONSE_PARAMETERS.has(decodeParameterName(pair.split('=', 1)[0] ?? '')));
  return kept.length === pairs.length ? redirectUri : `${redirectUri.slice(0, at + 1)}${kept.join('&')}`;
}

function decodeParameterName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
