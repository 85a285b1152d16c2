import type { FastifyInstance } from 'fastify';
import { checkCsrfToken, getCsrfToken } from '../csrf.js';
import { html } from '../html.js';
import type { DemoServices } from '../services.js';
import { RP_PENDING_SESSION_KEY } from '../relying-party.js';
import { field, safeReturnTo, sendPage } from './respond.js';

/** The session key under which @portcullis/fastify keeps a pending authorization; kept across login. */
export const OAUTH_SESSION_KEY = 'portcullis';

function loginForm(csrfToken: string, returnTo: string, username = '', error?: string, again = false) {
  return html`
${error ? html`<p class="flash error" role="alert">${error}</p>` : ''}
${again ? html`<p>The application asks you to confirm who you are: log in again.</p>` : ''}
<form method="post" action="/login">
  <input type="hidden" name="_csrf" value="${csrfToken}">
  <input type="hidden" name="returnTo" value="${returnTo}">
  <label>Username <input type="text" name="username" value="${username}" autocomplete="username" required autofocus></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
  <button type="submit">Log in</button>
</form>`;
}

export async function registerLoginRoutes(fastify: FastifyInstance, services: DemoServices): Promise<void> {
  fastify.get('/login', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const returnTo = safeReturnTo(query.returnTo);
    // OpenID Connect prompt=login or max_age: a signed-in user logs in again, which moves authTime.
    const again = query.prompt === 'login';
    if (request.session.get('userId') && !again) return reply.redirect(returnTo, 303);
    const hint = typeof query.login_hint === 'string' ? query.login_hint : (request.session.get('username') ?? '');
    return sendPage(request, reply, 'Log in', loginForm(getCsrfToken(request), returnTo, again ? hint : typeof query.login_hint === 'string' ? query.login_hint : '', undefined, again));
  });

  fastify.post('/login', async (request, reply) => {
    const body = request.body;
    const returnTo = safeReturnTo(field(body, 'returnTo'));
    if (!checkCsrfToken(request, field(body, '_csrf'))) {
      return sendPage(request, reply, 'Log in', loginForm(getCsrfToken(request), returnTo, '', 'Your form expired; please try again.'), 403);
    }
    const username = field(body, 'username') ?? '';
    const password = field(body, 'password') ?? '';
    const checked = username && password ? await services.accountThrottle.check(services.db, username, password) : ({ kind: 'invalid' } as const);
    if (checked.kind === 'locked') {
      const minutes = Math.ceil(checked.retryAfterSeconds / 60);
      const error = `Too many failed logins for this account; try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
      reply.header('retry-after', String(checked.retryAfterSeconds));
      return sendPage(request, reply, 'Log in', loginForm(getCsrfToken(request), returnTo, username, error), 429);
    }
    if (checked.kind === 'invalid') {
      return sendPage(request, reply, 'Log in', loginForm(getCsrfToken(request), returnTo, username, 'Wrong username or password.'), 401);
    }
    const { user } = checked;
    // A new session id at login defeats session fixation; only the pending authorization (and the
    // example relying party's sign-in in progress, relying-party.ts) survives.
    await request.session.regenerate([OAUTH_SESSION_KEY, RP_PENDING_SESSION_KEY]);
    request.session.set('userId', user.id);
    request.session.set('username', user.username);
    request.session.set('isAdmin', user.isAdmin);
    // When the password was checked: OpenID Connect's auth_time, which max_age is measured from.
    request.session.set('authTime', Date.now());
    request.session.set('csrfToken', undefined);
    getCsrfToken(request);
    return reply.redirect(returnTo, 303);
  });

  fastify.post('/logout', async (request, reply) => {
    if (!checkCsrfToken(request, field(request.body, '_csrf'))) {
      return sendPage(request, reply, 'Log out', html`<p>Your form expired; please try again.</p>`, 403);
    }
    await request.session.destroy();
    return reply.redirect('/login', 303);
  });
}
