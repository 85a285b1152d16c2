import { invalidRequest } from '../errors.js';

// RFC 8252 section 7.3: a native app listens on a loopback IP literal on any port it gets from
// the system, so only the port may differ from the registered URI.
const LOOPBACK_URI = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?][^#]*)?$/;

// Schemes that run code or read local data in the browser; never a redirect target.
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:', 'filesystem:', 'view-source:']);

/** Whether a requested redirect_uri matches a registered one: exactly, or by the loopback rule. */
export function matchesRedirectUri(requested: string, registered: string): boolean {
  if (requested === registered) return true;
  const want = LOOPBACK_URI.exec(registered);
  if (!want) return false;
  const got = LOOPBACK_URI.exec(requested);
  if (!got || !isPort(got[2])) return false;
  return got[1] === want[1] && (got[3] ?? '') === (want[3] ?? '');
}

/** The registered URI the requested one matches, or undefined. */
export function findRegisteredRedirectUri(requested: string, registered: readonly string[]): string | undefined {
  return registered.find((uri) => matchesRedirectUri(requested, uri));
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

function hasWhitespaceOrControl(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f || /\s/.test(char)) return true;
  }
  return false;
}

/**
 * Checks a redirect URI at registration: absolute, no fragment (RFC 6749 section 3.1.2), no
 * whitespace, https, or http on loopback (or anywhere when TLS is not enforced), or a private-use
 * scheme for native apps (RFC 8252 section 7.1); never javascript:, data: and the like.
 */
export function assertValidRedirectUri(uri: string, enforceSecure: boolean): void {
  if (typeof uri !== 'string' || uri === '' || hasWhitespaceOrControl(uri)) {
    throw invalidRequest(`Redirect URI ${JSON.stringify(uri)} is empty or holds whitespace or control characters.`);
  }
  if (!URL.canParse(uri)) throw invalidRequest(`Redirect URI ${JSON.stringify(uri)} is not an absolute URI.`);
  const url = new URL(uri);
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
