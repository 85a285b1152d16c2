import type { FastifyInstance } from 'fastify';
import { checkCsrfToken, getCsrfToken } from '../csrf.js';
import { html } from '../html.js';
import type { DemoServices } from '../services.js';
import { field, requireLogin, sendPage, setFlash } from './respond.js';

/** Revokes everything a user gave a client, over both protocols (django-oauth-plus: users SHOULD be able to revoke). */
export type RevokeGrant = (userId: string, clientId: string) => Promise<number>;

export async function registerAccountRoutes(fastify: FastifyInstance, services: DemoServices, revokeGrant: RevokeGrant): Promise<void> {
  fastify.get('/account/apps', { preHandler: requireLogin }, async (request, reply) => {
    const userId = request.session.get('userId') as string;
    const grants = await services.storage.listGrants(userId, new Date());
    const clients = await Promise.all(grants.map((g) => services.storage.findClient(g.clientId)));
    const csrf = getCsrfToken(request);
    const body = grants.length
      ? html`<p>These applications can act for you. Revoking one ends every token it holds and forgets what you approved; it would have to ask you again.</p>
<table><tr><th>Application</th><th>May</th><th>Protocol</th><th>Last authorized</th><th></th></tr>
${grants.map((grant, i) => {
  const client = clients[i];
  return html`<tr data-client-id="${grant.clientId}">
  <td><strong>${client?.name ?? grant.clientId}</strong><br><small><code>${grant.clientId}</code></small></td>
  <td><ul>${grant.scope.map((s) => html`<li>${services.scopes.get(s)?.description ?? s} <small>(<code>${s}</code>)</small></li>`)}</ul></td>
  <td>${grant.protocol === 'oauth1' ? 'OAuth 1.0a' : 'OAuth 2'}</td>
  <td>${grant.lastIssuedAt.toISOString()}</td>
  <td><form method="post" action="/account/apps/revoke">
    <input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="client_id" value="${grant.clientId}">
    <button type="submit">Revoke access</button></form></td></tr>`;
})}
</table>`
      : html`<p>No application holds a token of yours.</p>`;
    return sendPage(request, reply, 'My apps', body);
  });

  fastify.post('/account/apps/revoke', { preHandler: requireLogin }, async (request, reply) => {
    const clientId = field(request.body, 'client_id');
    if (!checkCsrfToken(request, field(request.body, '_csrf')) || !clientId) {
      setFlash(request, 'error', 'Your form expired; nothing was revoked. Please try again.');
      return reply.redirect('/account/apps', 303);
    }
    const client = await services.storage.findClient(clientId);
    const count = await revokeGrant(request.session.get('userId') as string, clientId);
    setFlash(request, 'notice', `Access revoked for ${client?.name ?? clientId}`, [`${count} credential${count === 1 ? '' : 's'} revoked.`]);
    return reply.redirect('/account/apps', 303);
  });
}
