import type { FastifyReply } from 'fastify';
import type { OAuthError } from '@portcullis/core';
import { CONSENT_FIELDS, type ConsentContext, type DevicePageContext } from './options.js';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

const BASE_CSP = "frame-ancestors 'none'; default-src 'none'; style-src 'unsafe-inline'; form-action 'self'";

/**
 * Headers of every page the authorize endpoint draws: no framing (clickjacking a consent button is
 * the classic attack), no scripts, no caching (the page holds a CSRF token).
 * `formActionTarget` adds the client's redirect origin to form-action: browsers apply form-action to
 * the redirect that follows the consent POST, and would otherwise block the way back to the client.
 */
export function setPageHeaders(reply: FastifyReply, formActionTarget?: string): void {
  reply.header('x-frame-options', 'DENY');
  reply.header(
    'content-security-policy',
    formActionTarget === undefined ? BASE_CSP : `${BASE_CSP} ${formActionTarget}`,
  );
  reply.header('cache-control', 'no-store');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-content-type-options', 'nosniff');
}

/** A CSP source for where the consent redirect goes: the origin of http(s) URIs, the scheme of others (RFC 8252 apps). */
export function toFormActionSource(redirectUri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    return undefined;
  }
  if (url.protocol === 'https:' || url.protocol === 'http:') return url.origin;
  return /^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) ? url.protocol : undefined;
}

/** What the consent page names as where the browser goes next: a host, an app's scheme, or null. */
export function describeReturnHost(redirectUri: string): string | null {
  const source = toFormActionSource(redirectUri);
  if (source === undefined) return null;
  return source.endsWith(':') ? source : new URL(source).host;
}

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}' +
  'ul{padding:0;list-style:none}li{margin:.5rem 0}small{color:#666;display:block;margin-left:1.6rem}' +
  'button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}';

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

/** "a, b and c". */
function listInWords(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** The built-in consent page: who asks, for what, approve or deny, optionally fewer scopes. */
export function renderConsentPage(context: ConsentContext): string {
  const clientName =
    context.protocol === 'oauth1'
      ? context.oauth1Request.clientName
      : context.protocol === 'device'
        ? context.deviceRequest.clientName
        : context.authorizationRequest.clientName;
  const client = escapeHtml(clientName);
  // Once the user approved some of them before, each scope says whether it is new.
  const marked = context.scopes.some((scope) => scope.granted);
  const scopes = context.scopes
    .map(
      (scope) =>
        `<li><label><input type="checkbox" name="${CONSENT_FIELDS.grantedScope}" value="${escapeHtml(scope.name)}" checked> ` +
        `<code>${escapeHtml(scope.name)}</code></label>` +
        (marked ? (scope.granted ? ' <small class="granted">already allowed</small>' : ' <strong class="new">new</strong>') : '') +
        (scope.description === null ? '' : `<small>${escapeHtml(scope.description)}</small>`) +
        (scope.claims.length === 0 ? '' : `<small>Shares ${escapeHtml(listInWords(scope.claims))}.</small>`) +
        '</li>',
    )
    .join('');
  const scopeList =
    context.scopes.length === 0
      ? '<p>It asks for no particular permission.</p>'
      : `<p>It asks to:</p><ul>${scopes}</ul><input type="hidden" name="${CONSENT_FIELDS.narrowScope}" value="1">`;
  return page(
    `Authorize ${clientName}`,
    `<h1>Authorize <strong>${client}</strong>?</h1>
${context.returnHost === null ? '' : `<p>You will be sent back to <strong>${escapeHtml(context.returnHost)}</strong>.</p>\n`}${context.protocol === 'device' ? '<p>Approve only if you started this on your own device and it shows the code you entered.</p>\n' : ''}${describeDocumentHost(context)}<p>You are signed in as <strong>${escapeHtml(context.user.username ?? context.user.id)}</strong>.</p>
<form method="post" action="${escapeHtml(context.action)}">
<input type="hidden" name="${CONSENT_FIELDS.csrfToken}" value="${escapeHtml(context.csrfToken)}">
${scopeList}
<button type="submit" name="${CONSENT_FIELDS.decision}" value="approve">Approve</button>
<button type="submit" name="${CONSENT_FIELDS.decision}" value="deny">Deny</button>
</form>`,
  );
}

/**
 * A client that described itself with a metadata document is named by the host serving it, which
 * the user can judge; the client_name in it is the client's own claim. Hosts the server does not
 * vouch for get a warning.
 */
function describeDocumentHost(context: ConsentContext): string {
  const source = context.protocol === 'oauth2' ? context.authorizationRequest.clientMetadataDocument : undefined;
  if (source === undefined) return '';
  const host = escapeHtml(source.host);
  return (
    `<p>The application describes itself at <strong>${host}</strong>.</p>\n` +
    (source.trusted ? '' : `<p role="alert"><strong>Warning:</strong> this server has not verified <strong>${host}</strong>. Approve only if you trust it.</p>\n`)
  );
}

/**
 * The built-in device verification page (RFC 8628 section 3.3): the user code form, or the end
 * of the decision, telling the user to go back to the device.
 */
export function renderDevicePage(context: DevicePageContext): string {
  if (context.kind === 'done') {
    const client = escapeHtml(context.clientName);
    return context.approved
      ? page('Device connected', `<h1>Device connected</h1>\n<p><strong>${client}</strong> may now use your account. Return to your device.</p>`)
      : page('Device refused', `<h1>Device refused</h1>\n<p><strong>${client}</strong> was not given access. You may close this page.</p>`);
  }
  const { fields } = context;
  return page(
    'Connect a device',
    `<h1>Connect a device</h1>
<p>You are signed in as <strong>${escapeHtml(context.user.username ?? context.user.id)}</strong>. Enter the code your device shows.</p>
${context.error === null ? '' : `<p role="alert">${escapeHtml(context.error)}</p>\n`}<form method="post" action="${escapeHtml(context.action)}">
<input type="hidden" name="${fields.csrfToken}" value="${escapeHtml(context.csrfToken)}">
<label>Code <input name="${fields.userCode}" value="${escapeHtml(context.userCode)}" autocomplete="off" autocapitalize="characters" spellcheck="false" required></label>
<button type="submit">Continue</button>
</form>`,
  );
}

/** The page shown instead of redirecting when the client or its redirect URI cannot be trusted. */
export function renderErrorPage(error: OAuthError): string {
  return page(
    'Authorization error',
    `<h1>Authorization error</h1>
<p><code>${escapeHtml(error.error)}</code></p>
${error.description === undefined ? '' : `<p>${escapeHtml(error.description)}</p>`}`,
  );
}

/** Sends the error page with the error's status and headers (Allow, Retry-After). */
export function sendErrorPage(reply: FastifyReply, error: OAuthError): FastifyReply {
  for (const name of Object.keys(error.headers)) reply.header(name, error.headers[name]);
  setPageHeaders(reply);
  return reply.code(error.status).type('text/html; charset=utf-8').send(renderErrorPage(error));
}

/**
 * RFC 5849 section 2.2, `oob` callback: the client cannot be reached, so the user carries the
 * verifier over by hand.
 */
export function renderVerifierPage(clientName: string, verifier: string): string {
  return page(
    'Authorization granted',
    `<h1>Authorization granted</h1>
<p>Enter this code in <strong>${escapeHtml(clientName)}</strong> to finish:</p>
<p><code id="oauth_verifier">${escapeHtml(verifier)}</code></p>`,
  );
}

/** The answer to a refusal when the client has no callback to be told through. */
export function renderDeniedPage(clientName: string): string {
  return page(
    'Authorization refused',
    `<h1>Authorization refused</h1>
<p><strong>${escapeHtml(clientName)}</strong> was not given access. You may close this page.</p>`,
  );
}

/** RP-Initiated Logout 1.0 section 2: asks the user before ending the session for an unproven request. */
export function renderLogoutConfirmPage(options: { action: string; csrfToken: string; clientName: string | null; username: string }): string {
  const who = options.clientName === null ? 'An application' : `<strong>${escapeHtml(options.clientName)}</strong>`;
  return page(
    'Sign out?',
    `<h1>Sign out?</h1>
<p>${who} asks to sign you out. You are signed in as <strong>${escapeHtml(options.username)}</strong>.</p>
<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="csrf_token" value="${escapeHtml(options.csrfToken)}">
<button type="submit" name="logout" value="yes">Sign out</button>
<button type="submit" name="logout" value="no">Stay signed in</button>
</form>`,
  );
}

/** The page after a logout that names no way back to the client. */
export function renderSignedOutPage(signedOut: boolean): string {
  return page(
    signedOut ? 'Signed out' : 'Still signed in',
    signedOut ? '<h1>Signed out</h1>\n<p>You are signed out. You may close this page.</p>' : '<h1>Still signed in</h1>\n<p>You stayed signed in. You may close this page.</p>',
  );
}
