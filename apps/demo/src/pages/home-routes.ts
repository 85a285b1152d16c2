import type { FastifyInstance } from 'fastify';
import { html, raw } from '../html.js';
import { getResults, listPolls } from '../polls.js';
import type { DemoServices } from '../services.js';
import { sendPage } from './respond.js';

export async function registerHomeRoutes(fastify: FastifyInstance, services: DemoServices): Promise<void> {
  fastify.get('/', async (request, reply) => {
    const polls = await listPolls(services.db);
    const results = await Promise.all(polls.map((poll) => getResults(services.db, poll)));
    const body = html`
<p>A polls application on Fastify: its API is protected by Portcullis.
Clients get tokens at <code>/oauth/token</code> (or django-oauth2-provider's <code>/oauth2/access_token/</code>),
users approve them at <code>/oauth/authorize</code> and revoke them under <a href="/account/apps">My apps</a>.</p>
<p>OpenID Connect: <a href="/rp" id="sign-in-with-portcullis">Sign in with Portcullis</a> on an example relying party
that uses <code>openid-client</code> against this issuer.</p>
<h2>Polls</h2>
${results.map(
  (r) => html`<section><h3>#${r.poll_id} ${r.question}</h3><ul>
  ${r.results.map((c) => html`<li>${c.label}: ${c.votes} vote${c.votes === 1 ? '' : 's'} <small>(choice ${c.choice_id})</small></li>`)}
  </ul></section>`,
)}
<h2>API</h2>
<table><tr><th>Route</th><th>Scope</th></tr>
<tr><td><code>GET /api/polls</code></td><td><code>polls:read</code></td></tr>
<tr><td><code>POST /api/polls/:id/vote</code> (<code>choice_id</code>)</td><td><code>polls:vote</code></td></tr>
<tr><td><code>GET /api/polls/:id/results</code></td><td><code>polls:results</code> (derived from the route)</td></tr>
<tr><td><code>GET /api/polls/:id/stats</code></td><td><code>polls:stats</code></td></tr>
<tr><td><code>GET /api/me</code></td><td>any valid token</td></tr>
</table>`;
    return sendPage(request, reply, 'Polls', body);
  });

  // The landing page of the sample client: shows what the authorization server sent back.
  fastify.get('/callback', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const rows = Object.entries(query).filter(([, v]) => typeof v === 'string') as [string, string][];
    const body = html`
<p>This page stands in for a client's redirect URI. A real client would now exchange the code at the token endpoint.</p>
<table id="params">${rows.map(([k, v]) => html`<tr><th>${k}</th><td><code data-param="${k}">${v}</code></td></tr>`)}</table>
<div id="fragment"></div>
<script src="/callback.js"></script>`;
    return sendPage(request, reply, 'Client callback', body);
  });

  // The implicit grant puts the token in the fragment, which only the browser sees.
  fastify.get('/callback.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(
      raw(`(function(){var h=location.hash.slice(1);if(!h)return;var t=document.createElement('table');
new URLSearchParams(h).forEach(function(v,k){var r=t.insertRow();var a=document.createElement('th');a.textContent=k;
var b=document.createElement('td');var c=document.createElement('code');c.textContent=v;c.setAttribute('data-param',k);
b.appendChild(c);r.appendChild(a);r.appendChild(b);});var d=document.getElementById('fragment');
d.appendChild(document.createTextNode('In the fragment:'));d.appendChild(t);})();`).value,
    ),
  );
}
