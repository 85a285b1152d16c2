// "Sign in with Portcullis": the demo's example relying party (src/relying-party.ts) on a real
// listening demo server, its client registered by the first start. The browser's steps are real
// HTTP requests with a cookie jar; the relying party itself calls the issuer with openid-client.
import t from 'tap';
import { buildApp } from '../src/app.js';
import { bootstrapFirstStart } from '../src/bootstrap.js';
import { RP_CLIENT_ID } from '../src/relying-party.js';
import { createUser } from '../src/users.js';
import { SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { freePort, HttpBrowser } from './run.js';

const PASSWORD = 'carol-password';


const formField = (body: string, name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(body)?.[1]?.replace(/&amp;/g, '&');
const claim = (body: string, table: string, name: string) =>
  new RegExp(`<table id="${table}">.*?<code data-claim="${name}">([^<]*)</code>`, 's').exec(body)?.[1];

t.test('sign in with Portcullis, see the claims, sign out by RP-initiated logout', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildApp({ databaseUrl: 'sqlite::memory:', development: true, sessionSecret: SESSION_SECRET, secretKey: SECRET_KEY, issuer: base });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port });
  t.ok(await bootstrapFirstStart(app, base, true, base));
  const rpClient = await app.demo.storage.findClient(RP_CLIENT_ID);
  t.strictSame(rpClient?.redirectUris, [`${base}/rp/callback`]);
  t.strictSame(rpClient?.postLogoutRedirectUris, [`${base}/rp`]);
  t.equal(rpClient?.type, 'public');
  await createUser(app.demo.db, { username: 'carol', password: PASSWORD, email: 'carol@example.com', name: 'Carol Example' });

  const browser = new HttpBrowser();
  const home = await browser.request(`${base}/`);
  t.match(home.body, /<a href="\/rp" id="sign-in-with-portcullis">Sign in with Portcullis<\/a>/);
  const start = await browser.request(`${base}/rp`);
  t.equal(start.status, 200);
  t.match(start.body, /<a href="\/rp\/login" id="rp-sign-in">/);

  // The relying party's authorization request: PKCE, state and nonce, to the discovered endpoint.
  const login = await browser.request(`${base}/rp/login`);
  t.equal(login.status, 303);
  const authorizeUrl = new URL(login.location!);
  t.equal(`${authorizeUrl.origin}${authorizeUrl.pathname}`, `${base}/oauth/authorize`);
  const params = authorizeUrl.searchParams;
  t.equal(params.get('client_id'), RP_CLIENT_ID);
  t.equal(params.get('redirect_uri'), `${base}/rp/callback`);
  t.equal(params.get('code_challenge_method'), 'S256');
  t.equal(params.get('scope'), 'openid profile email');
  t.ok(params.get('state') && params.get('nonce') && params.get('code_challenge'));

  // The user logs in at the demo and approves; the relying party's pending checks survive the login.
  const toLogin = await browser.request(authorizeUrl.href);
  t.equal(toLogin.status, 302);
  const loginPage = await browser.request(new URL(toLogin.location!, base).href);
  const loggedIn = await browser.request(`${base}/login`, {
    form: { _csrf: formField(loginPage.body, '_csrf')!, returnTo: formField(loginPage.body, 'returnTo')!, username: 'carol', password: PASSWORD },
  });
  t.equal(loggedIn.status, 303);
  const consent = await browser.request(new URL(loggedIn.location!, base).href);
  t.equal(consent.status, 200);
  t.match(consent.body, /Example relying party/);
  const approved = await browser.request(`${base}/oauth/authorize`, { form: { decision: 'approve', csrf_token: formField(consent.body, 'csrf_token')! } });
  t.equal(approved.status, 303);
  t.match(approved.location, new RegExp(`^${base}/rp/callback\\?`));

  // The callback: token exchange, ID token validation, UserInfo; then the claims page.
  const callback = await browser.request(approved.location!);
  t.equal(callback.status, 303, callback.body);
  t.equal(callback.location, '/rp');
  const claims = await browser.request(`${base}/rp`);
  t.equal(claims.status, 200);
  const sub = claim(claims.body, 'id-token-claims', 'sub');
  t.ok(sub, 'the ID token names the user');
  t.equal(claim(claims.body, 'id-token-claims', 'iss'), base);
  t.equal(claim(claims.body, 'id-token-claims', 'aud'), RP_CLIENT_ID);
  t.equal(claim(claims.body, 'id-token-claims', 'name'), 'Carol Example');
  t.equal(claim(claims.body, 'id-token-claims', 'email'), 'carol@example.com');
  t.equal(claim(claims.body, 'userinfo', 'sub'), sub);
  t.equal(claim(claims.body, 'userinfo', 'preferred_username'), 'carol');
  t.equal(claim(claims.body, 'userinfo', 'email'), 'carol@example.com');

  // A replayed callback finds no sign-in in progress: an error page, not a 500.
  const replay = await browser.request(approved.location!);
  t.equal(replay.status, 400);
  t.match(replay.body, /No sign-in is in progress/);

  // Sign-out: without the form's CSRF token nothing happens; with it, RP-initiated logout ends both sessions.
  const forged = await browser.request(`${base}/rp/logout`, { form: { _csrf: 'wrong' } });
  t.equal(forged.status, 403);
  const signOut = await browser.request(`${base}/rp/logout`, { form: { _csrf: formField(claims.body, '_csrf')! } });
  t.equal(signOut.status, 303);
  const endSession = new URL(signOut.location!);
  t.equal(`${endSession.origin}${endSession.pathname}`, `${base}/oauth/logout`);
  t.equal(endSession.searchParams.get('post_logout_redirect_uri'), `${base}/rp`);
  t.ok(endSession.searchParams.get('id_token_hint'));
  const loggedOut = await browser.request(endSession.href);
  t.equal(loggedOut.status, 303);
  t.equal(loggedOut.location, `${base}/rp`);
  const after = await browser.request(loggedOut.location!);
  t.equal(after.status, 200);
  t.match(after.body, /id="rp-sign-in"/, 'signed out of the relying party');
  t.notMatch(after.body, /id-token-claims/);
  t.equal((await browser.request(`${base}/account/apps`)).status, 303, 'and out of the demo');

  // A user who denies: the authorization server's error reaches the relying party, which shows it on a page.
  await createUser(app.demo.db, { username: 'dave', password: PASSWORD });
  const other = new HttpBrowser();
  const daveLogin = await other.request(`${base}/rp/login`);
  const daveToLogin = await other.request(daveLogin.location!);
  const daveLoginPage = await other.request(new URL(daveToLogin.location!, base).href);
  const daveIn = await other.request(`${base}/login`, {
    form: { _csrf: formField(daveLoginPage.body, '_csrf')!, returnTo: formField(daveLoginPage.body, 'returnTo')!, username: 'dave', password: PASSWORD },
  });
  const daveConsent = await other.request(new URL(daveIn.location!, base).href);
  const denied = await other.request(`${base}/oauth/authorize`, { form: { decision: 'deny', csrf_token: formField(daveConsent.body, 'csrf_token')! } });
  t.match(denied.location, new RegExp(`^${base}/rp/callback\\?error=access_denied`));
  const deniedPage = await other.request(denied.location!);
  t.equal(deniedPage.status, 400);
  t.match(deniedPage.body, /id="rp-error">access_denied/);
  t.match((await other.request(`${base}/rp`)).body, /id="rp-sign-in"/, 'not signed in to the relying party');
});

t.test('an unreachable issuer or a missing client: an error page, not a 500', async (t) => {
  const port = await freePort();
  // Nothing listens at this issuer: the demo runs in-process only.
  const app = await buildApp({ databaseUrl: 'sqlite::memory:', development: true, sessionSecret: SESSION_SECRET, secretKey: SECRET_KEY, issuer: `http://127.0.0.1:${port}` });
  t.teardown(() => app.close());
  const missing = await app.inject({ url: '/rp' });
  t.equal(missing.statusCode, 503);
  t.match(missing.body, /polls-example-rp is not registered/);
  t.ok(await bootstrapFirstStart(app, `http://127.0.0.1:${port}`, true));
  const page = await app.inject({ url: '/rp' });
  t.equal(page.statusCode, 200);
  const login = await app.inject({ url: '/rp/login' });
  t.equal(login.statusCode, 502);
  t.match(login.headers['content-type'], /text\/html/);
  t.match(login.body, /did not answer its OpenID Connect discovery/);
  const callback = await app.inject({ url: '/rp/callback?code=x&state=y' });
  t.equal(callback.statusCode, 400);
  t.match(callback.body, /No sign-in is in progress/);
});
