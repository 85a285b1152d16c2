import { digestSecret, generateToken, type ClientOrigin, type ClientRecord, type ClientType, type GrantType } from '@portcullis/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkClientSettings, responseTypesFor, type ClientSettings } from '../client-form.js';
import { LIFETIME_FIELDS, parseLifetime, type ClientLifecycle } from '../client-lifecycle.js';
import { checkCsrfToken, getCsrfToken } from '../csrf.js';
import { html } from '../html.js';
import type { OAuthOperations } from '../oauth-operations.js';
import type { DemoServices } from '../services.js';
import { findUserById, findUserByUsername, listUsers } from '../users.js';
import {
  renderClientFields,
  renderClientsTable,
  renderConsentsTable,
  renderLifecycleFields,
  renderIssueForm,
  renderRegisterForm,
  renderScopesTable,
  renderTokensPage,
} from './admin-views.js';
import { field, fieldList, requireAdmin, sendPage, setFlash } from './respond.js';

const ORIGIN_LABELS: Record<ClientOrigin, string> = {
  admin: 'registered by an administrator',
  dynamic: 'registered itself (dynamic registration)',
  document: 'described by a client metadata document',
};

/** The form as settings; `checkClientSettings` then refuses unknown grant types, scopes and bad URIs. */
function readClientSettings(body: unknown): ClientSettings {
  return {
    name: field(body, 'name') ?? '',
    redirectUris: (field(body, 'redirect_uris') ?? '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean),
    postLogoutRedirectUris: (field(body, 'post_logout_redirect_uris') ?? '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean),
    scopes: fieldList(body, 'scopes'),
    grantTypes: fieldList(body, 'grant_types') as GrantType[],
    type: (field(body, 'type') === 'public' ? 'public' : 'confidential') as ClientType,
    oauth1Enabled: field(body, 'oauth1') === 'on',
    rsaPublicKey: field(body, 'rsa_public_key') ?? null,
  };
}

/** The first-party flag and the lifetimes of the form; a bad lifetime throws ClientSettingsError. */
function readClientLifecycle(body: unknown): ClientLifecycle {
  const lifecycle: ClientLifecycle = { skipConsent: field(body, 'skip_consent') === 'on', accessTokenTtl: null, refreshTokenTtl: null, authorizationCodeTtl: null };
  for (const [key, name] of LIFETIME_FIELDS) lifecycle[key] = parseLifetime(key, field(body, name));
  return lifecycle;
}

function errorMessage(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { description?: unknown; message?: unknown };
    if (typeof e.description === 'string') return e.description;
    if (typeof e.message === 'string') return e.message;
  }
  return 'the request failed';
}

/**
 * The admin pages, in place of the Django admin the Django providers used: clients, scopes, live tokens and
 * codes, and issuing a token by hand. Every change is a CSRF-checked POST followed by a redirect,
 * and secrets appear once, in a flash that the next page load drops.
 */
export async function registerAdminRoutes(fastify: FastifyInstance, services: DemoServices, oauth: OAuthOperations): Promise<void> {
  const { storage, scopes } = services;
  const oauth1Available = oauth.sealSecret !== null;

  // Every POST below checks the CSRF token first and changes nothing when it fails.
  async function guardPost(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (checkCsrfToken(request, field(request.body, '_csrf'))) return undefined;
    setFlash(request, 'error', 'Your form expired; nothing was changed. Please try again.');
    return reply.redirect('/admin', 303);
  }
  const post = { preHandler: [requireAdmin, guardPost] };

  fastify.get('/admin', { preHandler: requireAdmin }, async (request, reply) => {
    const [clients, stored] = await Promise.all([storage.listClients(), storage.listScopes()]);
    const csrf = getCsrfToken(request);
    const body = html`
<p><a href="/admin/tokens">Live tokens and codes</a></p>
<h2>Clients</h2>${renderClientsTable(clients, csrf)}
<h2>Register a client</h2>${renderRegisterForm(csrf, scopes, oauth1Available)}
<h2>Scopes</h2>${renderScopesTable(scopes, stored, oauth.declaredScopes(), csrf)}
<h2>Issue a token by hand</h2>${renderIssueForm(csrf, clients, scopes)}`;
    return sendPage(request, reply, 'Administration', body);
  });

  fastify.post('/admin/clients', post, async (request, reply) => {
    let settings: ClientSettings;
    try {
      settings = checkClientSettings(readClientSettings(request.body), scopes, { enforceSecure: services.enforceSecure });
      if (settings.oauth1Enabled && !oauth1Available) throw new Error('OAuth 1.0a needs a secret key');
      const lifecycle = readClientLifecycle(request.body);
      const registered = await oauth.registerClient({
        ...lifecycle,
        name: settings.name,
        redirectUris: settings.redirectUris,
        postLogoutRedirectUris: settings.postLogoutRedirectUris ?? [],
        scopes: settings.scopes,
        grantTypes: settings.grantTypes,
        type: settings.type,
        ownerId: request.session.get('userId') ?? null,
        oauth1Enabled: settings.oauth1Enabled,
        rsaPublicKey: settings.rsaPublicKey,
      });
      setFlash(request, registered.clientSecret ? 'secret' : 'notice', `Client ${registered.client.name} registered`, [
        `client_id: ${registered.client.id}`,
        ...(registered.clientSecret ? [`client_secret: ${registered.clientSecret}`, 'Copy the secret now: it is shown only this once.'] : []),
      ]);
      return reply.redirect(`/admin/clients/${encodeURIComponent(registered.client.id)}`, 303);
    } catch (error) {
      setFlash(request, 'error', 'The client was not registered', [errorMessage(error)]);
      return reply.redirect('/admin', 303);
    }
  });

  fastify.get<{ Params: { id: string } }>('/admin/clients/:id', { preHandler: requireAdmin }, async (request, reply) => {
    const client = await storage.findClient(request.params.id);
    if (!client) return sendPage(request, reply, 'No such client', html`<p><a href="/admin">Back</a></p>`, 404);
    const csrf = getCsrfToken(request);
    const owner = client.ownerId ? await findUserById(services.db, client.ownerId) : null;
    const action = `/admin/clients/${encodeURIComponent(client.id)}`;
    const consents = await storage.listConsents({ clientId: client.id });
    const usernames = new Map((await listUsers(services.db)).map((u) => [u.id, u.username]));
    const body = html`
<p><a href="/admin">Back to the clients</a> · <a href="/admin/tokens?client=${client.id}">Its tokens</a></p>
<table><tr><th>client_id</th><td><code id="client-id">${client.id}</code></td></tr>
<tr><th>Secret</th><td>${client.secretDigest ? 'set (only its digest is kept)' : 'none'}</td></tr>
<tr><th>Registered by</th><td>${owner?.username ?? ''}</td></tr>
<tr><th>Created</th><td>${client.createdAt.toISOString()}</td></tr>
<tr><th>Came</th><td>${ORIGIN_LABELS[client.origin ?? 'admin']}</td></tr>
<tr><th>Last used</th><td>${client.lastUsedAt ? client.lastUsedAt.toISOString() : 'never'}</td></tr>
<tr><th>State</th><td>${client.disabled ? 'disabled' : 'active'}</td></tr></table>
<form method="post" action="${action}/state"><input type="hidden" name="_csrf" value="${csrf}">
<input type="hidden" name="disabled" value="${client.disabled ? 'off' : 'on'}"><button type="submit">${client.disabled ? 'Enable' : 'Disable (revokes its tokens)'}</button></form>
${
  client.origin === 'document'
    ? html`<p>Its metadata come from its document at <code>${client.id}</code>; only its state is kept here.</p>`
    : html`<h2>Edit</h2>
<form method="post" action="${action}" id="edit-client"><input type="hidden" name="_csrf" value="${csrf}">
${renderClientFields(scopes, client, oauth1Available)}
${renderLifecycleFields(client)}
<label><input type="checkbox" name="disabled" value="on" ${client.disabled ? html`checked` : ''}> Disabled (refused everywhere; its live tokens are revoked)</label>
<button type="submit">Save</button></form>
<h2>Secret</h2>
<form method="post" action="${action}/secret"><input type="hidden" name="_csrf" value="${csrf}">
<button type="submit">Generate a new secret</button> (the old one stops working at once)</form>`
}
<h2>Remembered consents</h2>
${renderConsentsTable(csrf, client.id, consents, usernames)}`;
    return sendPage(request, reply, `Client ${client.name}`, body);
  });

  fastify.post<{ Params: { id: string } }>('/admin/clients/:id', post, async (request, reply) => {
    const client = await storage.findClient(request.params.id);
    const back = `/admin/clients/${encodeURIComponent(request.params.id)}`;
    if (!client) return sendPage(request, reply, 'No such client', html`<p><a href="/admin">Back</a></p>`, 404);
    if (client.origin === 'document') {
      setFlash(request, 'error', 'Nothing was saved', ['A document client\'s metadata come from its document.']);
      return reply.redirect(back, 303);
    }
    try {
      const settings = checkClientSettings(readClientSettings(request.body), scopes, { enforceSecure: services.enforceSecure });
      if (settings.oauth1Enabled && !oauth1Available) throw new Error('OAuth 1.0a needs a secret key');
      const disabled = field(request.body, 'disabled') === 'on';
      const update: Partial<ClientRecord> = {
        name: settings.name,
        redirectUris: settings.redirectUris,
        postLogoutRedirectUris: settings.postLogoutRedirectUris ?? [],
        scopes: settings.scopes,
        grantTypes: settings.grantTypes,
        responseTypes: responseTypesFor(settings.grantTypes),
        type: settings.type,
        oauth1Enabled: settings.oauth1Enabled,
        rsaPublicKey: settings.rsaPublicKey,
        ...readClientLifecycle(request.body),
        updatedAt: new Date(),
      };
      // A client becoming confidential, or starting OAuth 1.0a without a sealed secret, needs a
      // new secret: only its digest was kept, so the old one cannot be recovered.
      const needsSecret =
        (settings.type === 'confidential' && client.secretDigest === null) || (settings.oauth1Enabled && client.oauth1SecretEncrypted === null);
      let secret: string | null = null;
      if (settings.type === 'public') {
        update.secretDigest = null;
        update.oauth1SecretEncrypted = null;
      } else if (needsSecret) {
        secret = generateToken('clientSecret');
        update.secretDigest = digestSecret(secret);
        update.oauth1SecretEncrypted = oauth.sealSecret ? oauth.sealSecret(secret) : null;
      }
      await storage.updateClient(client.id, update);
      // Through the core: a disabled client's live tokens are revoked, and the change is an event.
      if (disabled !== client.disabled) await oauth.setClientDisabled(client.id, disabled);
      if (!settings.oauth1Enabled && client.oauth1Enabled) await storage.revokeOAuth1AccessTokens({ clientId: client.id }, new Date());
      setFlash(request, secret ? 'secret' : 'notice', 'Client saved', secret ? [`client_secret: ${secret}`, 'Copy the new secret now: it is shown only this once.'] : []);
    } catch (error) {
      setFlash(request, 'error', 'Nothing was saved', [errorMessage(error)]);
    }
    return reply.redirect(back, 303);
  });

  // Any client, whatever its origin: disabling refuses it everywhere and revokes its live tokens.
  fastify.post<{ Params: { id: string } }>('/admin/clients/:id/state', post, async (request, reply) => {
    const client = await storage.findClient(request.params.id);
    if (!client) return sendPage(request, reply, 'No such client', html`<p><a href="/admin">Back</a></p>`, 404);
    const disabled = field(request.body, 'disabled') === 'on';
    const revoked = disabled === client.disabled ? 0 : ((await oauth.setClientDisabled(client.id, disabled)) ?? 0);
    setFlash(request, 'notice', `Client ${client.name} ${disabled ? `disabled; ${revoked} token${revoked === 1 ? '' : 's'} revoked` : 'enabled'}`);
    return reply.redirect('/admin', 303);
  });

  fastify.post<{ Params: { id: string } }>('/admin/clients/:id/consents/revoke', post, async (request, reply) => {
    const back = `/admin/clients/${encodeURIComponent(request.params.id)}`;
    const userId = field(request.body, 'user_id') ?? '';
    const forgotten = userId !== '' && (await oauth.revokeConsent(userId, request.params.id));
    setFlash(request, forgotten ? 'notice' : 'error', forgotten ? 'Consent forgotten: the next authorization asks the user again' : 'No such consent');
    return reply.redirect(back, 303);
  });

  fastify.post<{ Params: { id: string } }>('/admin/clients/:id/secret', post, async (request, reply) => {
    const client = await storage.findClient(request.params.id);
    if (!client) return sendPage(request, reply, 'No such client', html`<p><a href="/admin">Back</a></p>`, 404);
    const back = `/admin/clients/${encodeURIComponent(client.id)}`;
    if (client.type === 'public') {
      setFlash(request, 'error', 'A public client has no secret');
      return reply.redirect(back, 303);
    }
    const secret = generateToken('clientSecret');
    await storage.updateClient(client.id, {
      secretDigest: digestSecret(secret),
      oauth1SecretEncrypted: client.oauth1Enabled && oauth.sealSecret ? oauth.sealSecret(secret) : null,
      updatedAt: new Date(),
    });
    setFlash(request, 'secret', 'New client secret', [`client_secret: ${secret}`, 'Copy it now: it is shown only this once.']);
    return reply.redirect(back, 303);
  });

  fastify.post('/admin/scopes/sync', post, async (request, reply) => {
    const records = syncableScopes(services, oauth);
    await storage.saveScopes(records);
    setFlash(request, 'notice', `${records.length} scopes written to storage`);
    return reply.redirect('/admin', 303);
  });

  fastify.get('/admin/tokens', { preHandler: requireAdmin }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const filter = { client: typeof query.client === 'string' ? query.client.trim() : '', user: typeof query.user === 'string' ? query.user.trim() : '' };
    const users = await listUsers(services.db);
    const usernames = new Map(users.map((u) => [u.id, u.username]));
    const userId = filter.user ? users.find((u) => u.username === filter.user)?.id ?? '\u0000no such user' : undefined;
    const listFilter = { liveAt: new Date(), limit: 200, ...(filter.client ? { clientId: filter.client } : {}), ...(userId ? { userId } : {}) };
    const [tokens, codes] = await Promise.all([storage.listAccessTokens(listFilter), storage.listAuthorizationCodes(listFilter)]);
    return sendPage(request, reply, 'Tokens and codes', renderTokensPage(getCsrfToken(request), filter, tokens, codes, usernames));
  });

  fastify.post('/admin/tokens/revoke', post, async (request, reply) => {
    const familyId = field(request.body, 'family_id');
    const count = familyId ? await storage.revokeFamily(familyId, new Date()) : 0;
    setFlash(request, 'notice', `${count} token${count === 1 ? '' : 's'} revoked`);
    return reply.redirect('/admin/tokens', 303);
  });

  fastify.post('/admin/tokens/issue', post, async (request, reply) => {
    const body = request.body;
    const clientId = field(body, 'client_id') ?? '';
    const username = (field(body, 'username') ?? '').trim();
    const scope = (field(body, 'scope') ?? '').split(' ').filter(Boolean);
    try {
      const user = username ? await findUserByUsername(services.db, username) : null;
      if (username && !user) throw new Error(`no user named ${JSON.stringify(username)}`);
      const client = await storage.findClient(clientId);
      if (!client || client.disabled) throw new Error('no such active client');
      const issued = await oauth.issueTokens({
        clientId,
        userId: user?.id ?? null,
        ...(scope.length ? { scope } : {}),
        withRefreshToken: field(body, 'with_refresh_token') === 'on',
      });
      setFlash(request, 'secret', `Token issued to ${client.name}${user ? ` for ${user.username}` : ''}`, [
        `access_token: ${issued.access_token}`,
        ...(issued.refresh_token ? [`refresh_token: ${issued.refresh_token}`] : []),
        `scope: ${issued.scope}`,
        `expires_in: ${issued.expires_in}`,
        'Copy it now: it is shown only this once.',
      ]);
    } catch (error) {
      setFlash(request, 'error', 'No token was issued', [errorMessage(error)]);
    }
    return reply.redirect('/admin', 303);
  });
}

/** The registry's scopes with their descriptions, plus any a route declares that the registry lacks. */
export function syncableScopes(services: DemoServices, oauth: OAuthOperations): { name: string; description: string | null }[] {
  const records = new Map(services.scopes.list().map((s) => [s.name, { name: s.name, description: s.description ?? null }]));
  for (const name of oauth.declaredScopes()) if (!records.has(name)) records.set(name, { name, description: null });
  return [...records.values()];
}
