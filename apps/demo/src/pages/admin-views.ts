import type { AccessTokenRecord, AuthorizationCodeRecord, ClientOrigin, ClientRecord, ConsentRecord, ScopeRecord } from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';
import { GRANT_TYPES } from '../client-form.js';
import { LIFETIME_FIELDS } from '../client-lifecycle.js';
import { html, type SafeHtml } from '../html.js';

const hidden = (csrf: string) => html`<input type="hidden" name="_csrf" value="${csrf}">`;

/** The fields shared by the register and edit forms. */
export function renderClientFields(scopes: ScopeRegistry, client: Partial<ClientRecord>, oauth1Available: boolean): SafeHtml {
  const type = client.type ?? 'confidential';
  const grants = client.grantTypes ?? ['authorization_code', 'refresh_token'];
  return html`
<label>Name <input type="text" name="name" value="${client.name ?? ''}" required maxlength="200"></label>
<label>Redirect URIs, one a line (matched character for character)
<textarea name="redirect_uris" rows="3">${(client.redirectUris ?? []).join('\n')}</textarea></label>
<label>Post-logout redirect URIs (OpenID Connect logout), one a line
<textarea name="post_logout_redirect_uris" rows="2">${(client.postLogoutRedirectUris ?? []).join('\n')}</textarea></label>
<fieldset><legend>Client type</legend>
<label><input type="radio" name="type" value="confidential" ${type === 'confidential' ? html`checked` : ''}> Confidential (has a secret)</label>
<label><input type="radio" name="type" value="public" ${type === 'public' ? html`checked` : ''}> Public (no secret; PKCE required)</label>
</fieldset>
<fieldset><legend>Grant types (response types follow: code with authorization_code, token with implicit)</legend>
${GRANT_TYPES.map((g) => html`<label><input type="checkbox" name="grant_types" value="${g}" ${grants.includes(g) ? html`checked` : ''}> <code>${g}</code></label>`)}
</fieldset>
<fieldset><legend>Scopes the client may be granted</legend>
${scopes.list().map(
  (s) => html`<label><input type="checkbox" name="scopes" value="${s.name}" ${(client.scopes ?? []).includes(s.name) ? html`checked` : ''}> <code>${s.name}</code> ${s.description ?? ''}</label>`,
)}
</fieldset>
<fieldset><legend>OAuth 1.0a</legend>
${
  oauth1Available
    ? html`<label><input type="checkbox" name="oauth1" value="on" ${client.oauth1Enabled ? html`checked` : ''}> Enabled (client id = consumer key, client secret = consumer secret)</label>`
    : html`<p>Unavailable: no secret key is configured.</p>`
}
<label>RSA public key for RSA-SHA1 (PEM, optional)<textarea name="rsa_public_key" rows="4">${client.rsaPublicKey ?? ''}</textarea></label>
</fieldset>`;
}

/** First-party and lifetimes: the administrator's alone (dynamic registration never sets them). */
export function renderLifecycleFields(client: Partial<ClientRecord>): SafeHtml {
  return html`<fieldset id="client-lifecycle"><legend>Consent and lifetimes</legend>
<label><input type="checkbox" name="skip_consent" value="on" ${client.skipConsent ? html`checked` : ''}> First-party: no consent page (unless the request says <code>prompt=consent</code>)</label>
${LIFETIME_FIELDS.map(
  ([key, name, , label]) =>
    html`<label>${label}, seconds (empty for the server's) <input type="number" min="1" name="${name}" value="${client[key] == null ? '' : String(client[key])}"></label>`,
)}
</fieldset>`;
}

/** The users who approved the client, each with a button that makes it ask them again. */
export function renderConsentsTable(csrf: string, clientId: string, consents: ConsentRecord[], usernames: Map<string, string>): SafeHtml {
  if (consents.length === 0) return html`<p id="consents">No user's consent is remembered.</p>`;
  return html`<table id="consents"><tr><th>User</th><th>Scope</th><th>Resources</th><th>Approved</th><th></th></tr>
${consents.map(
  (c) => html`<tr data-user-id="${c.userId}"><td>${usernames.get(c.userId) ?? c.userId}</td><td>${c.scope.join(' ')}</td><td>${c.audience.join(' ')}</td>
<td>${c.updatedAt.toISOString()}</td>
<td><form method="post" action="/admin/clients/${encodeURIComponent(clientId)}/consents/revoke">${hidden(csrf)}<input type="hidden" name="user_id" value="${c.userId}">
<button type="submit">Forget (ask again)</button></form></td></tr>`,
)}</table>`;
}

/** How a client came, as the admin page groups them. */
const ORIGINS: { origin: ClientOrigin; heading: string; id: string }[] = [
  { origin: 'admin', heading: 'Registered by an administrator', id: 'clients-admin' },
  { origin: 'dynamic', heading: 'Registered themselves (dynamic registration, RFC 7591)', id: 'clients-dynamic' },
  { origin: 'document', heading: 'Described by a client metadata document', id: 'clients-document' },
];

const lastUse = (c: ClientRecord) => (c.lastUsedAt ? c.lastUsedAt.toISOString() : 'never');

/** The enable/disable button of a client row; disabling revokes the client's live tokens. */
function renderStateForm(csrf: string, c: ClientRecord): SafeHtml {
  return html`<form method="post" action="/admin/clients/${encodeURIComponent(c.id)}/state">${hidden(csrf)}
<input type="hidden" name="disabled" value="${c.disabled ? 'off' : 'on'}"><button type="submit">${c.disabled ? 'Enable' : 'Disable (revokes its tokens)'}</button></form>`;
}

/** The clients grouped by how they came, each with its last use and an enable/disable button. */
export function renderClientsTable(clients: ClientRecord[], csrf: string): SafeHtml {
  return html`${ORIGINS.map(({ origin, heading, id }) => {
    const group = clients.filter((c) => (c.origin ?? 'admin') === origin);
    return html`<h3>${heading}</h3>
${
  group.length === 0
    ? html`<p id="${id}">None.</p>`
    : html`<table id="${id}"><tr><th>Name</th><th>Client id</th><th>Type</th><th>Grant types</th><th>Redirect URIs</th><th>Scopes</th><th>OAuth 1.0a</th><th>Last used</th><th>State</th><th></th></tr>
${group.map(
  (c) => html`<tr data-client-id="${c.id}" data-origin="${origin}"><td><a href="/admin/clients/${encodeURIComponent(c.id)}">${c.name}</a></td><td><code>${c.id}</code></td>
<td>${c.type}</td><td>${c.grantTypes.join(', ')}</td><td>${c.redirectUris.map((u) => html`<code>${u}</code><br>`)}</td>
<td>${c.scopes.join(' ')}</td><td>${c.oauth1Enabled ? 'on' : 'off'}</td><td class="last-used">${lastUse(c)}</td><td class="state">${c.disabled ? 'disabled' : 'active'}</td>
<td>${renderStateForm(csrf, c)}</td></tr>`,
)}</table>`
}`;
  })}`;
}

export function renderRegisterForm(csrf: string, scopes: ScopeRegistry, oauth1Available: boolean): SafeHtml {
  return html`<form method="post" action="/admin/clients" id="register-client">${hidden(csrf)}
${renderClientFields(scopes, {}, oauth1Available)}
${renderLifecycleFields({})}
<button type="submit">Register the client</button></form>`;
}

export function renderScopesTable(scopes: ScopeRegistry, stored: ScopeRecord[], declared: string[], csrf: string): SafeHtml {
  const storedNames = new Set(stored.map((s) => s.name));
  return html`<table id="scopes"><tr><th>Scope</th><th>Description</th><th>Includes</th><th>Declared by a route</th><th>In storage</th></tr>
${scopes.list().map(
  (s) => html`<tr><td><code>${s.name}</code></td><td>${s.description ?? ''}</td><td>${s.includes.join(', ')}</td>
<td>${declared.includes(s.name) ? 'yes' : ''}</td><td>${storedNames.has(s.name) ? 'yes' : 'no'}</td></tr>`,
)}</table>
<form method="post" action="/admin/scopes/sync">${hidden(csrf)}<button type="submit">Sync scopes into storage</button> (as oauthost's <code>syncscopes</code>)</form>`;
}

export function renderIssueForm(csrf: string, clients: ClientRecord[], scopes: ScopeRegistry): SafeHtml {
  return html`<form method="post" action="/admin/tokens/issue" id="issue-token">${hidden(csrf)}
<label>Client <select name="client_id">${clients.filter((c) => !c.disabled).map((c) => html`<option value="${c.id}">${c.name} (${c.id})</option>`)}</select></label>
<label>For the user (username; empty for a token of the client itself) <input type="text" name="username"></label>
<label>Scope (space-separated; empty for the client's scopes) <input type="text" name="scope" placeholder="${scopes.list().map((s) => s.name).join(' ')}"></label>
<label><input type="checkbox" name="with_refresh_token" value="on"> With a refresh token</label>
<button type="submit">Issue a token</button></form>`;
}

export function renderTokensPage(
  csrf: string,
  filter: { client: string; user: string },
  tokens: AccessTokenRecord[],
  codes: AuthorizationCodeRecord[],
  usernames: Map<string, string>,
): SafeHtml {
  const who = (id: string | null) => (id === null ? html`<em>the client</em>` : usernames.get(id) ?? id);
  return html`<form method="get" action="/admin/tokens" id="token-search">
<label>Client id <input type="search" name="client" value="${filter.client}"></label>
<label>Username <input type="search" name="user" value="${filter.user}"></label>
<button type="submit">Search</button></form>
<h2>Live access tokens</h2>
<table id="tokens"><tr><th>Id</th><th>Client</th><th>User</th><th>Scope</th><th>Issued</th><th>Expires</th><th></th></tr>
${tokens.map(
  (t) => html`<tr data-token-id="${t.id}"><td><code>${t.id}</code></td><td><code>${t.clientId}</code></td><td>${who(t.userId)}</td><td>${t.scope.join(' ')}</td>
<td>${t.issuedAt.toISOString()}</td><td>${t.expiresAt.toISOString()}</td>
<td><form method="post" action="/admin/tokens/revoke">${hidden(csrf)}<input type="hidden" name="family_id" value="${t.familyId}">
<button type="submit">Revoke (with its refresh token)</button></form></td></tr>`,
)}</table>
<h2>Authorization codes</h2>
<p>Codes live seconds and are single use; revoking a token above also ends the grant a code started.</p>
<table id="codes"><tr><th>Id</th><th>Client</th><th>User</th><th>Scope</th><th>Expires</th><th>Used</th></tr>
${codes.map(
  (c) => html`<tr><td><code>${c.id}</code></td><td><code>${c.clientId}</code></td><td>${who(c.userId)}</td><td>${c.scope.join(' ')}</td>
<td>${c.expiresAt.toISOString()}</td><td>${c.consumedAt ? c.consumedAt.toISOString() : 'no'}</td></tr>`,
)}</table>`;
}
