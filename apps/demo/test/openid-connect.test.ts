// OpenID Connect against the demo over real HTTP, driven by openid-client (a certified relying
// party library): discovery, the code flow with PKCE and nonce, ID token validation, UserInfo,
// refresh with a new ID token, prompt=none with and without a session, and RP-initiated logout,
// on each database the demo supports. The browser's steps are real HTTP requests with cookies.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import t, { type Test } from 'tap';
import { buildApp } from '../src/app.js';
import { createUser, findAccountClaims, findUserByUsername } from '../src/users.js';
import { onEachDatabase } from './databases.js';
import { SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { freePort, HttpBrowser, runCliProcess } from './run.js';

const PASSWORD = 'carol-password';


/** Logs the browser in through the demo's login form, from the login page it was sent to. */
async function logIn(browser: HttpBrowser, base: string, loginLocation: string): Promise<string> {
  const page = await browser.request(new URL(loginLocation, base).href);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  const returnTo = /name="returnTo" value="([^"]+)"/.exec(page.body)?.[1];
  if (csrf === undefined || returnTo === undefined) throw new Error(`no login form at ${loginLocation}: ${page.status}`);
  const done = await browser.request(`${base}/login`, { form: { _csrf: csrf, returnTo: returnTo.replace(/&amp;/g, '&'), username: 'carol', password: PASSWORD } });
  if (done.status !== 303 || done.location === null) throw new Error(`login failed: ${done.status}`);
  return done.location;
}

async function runScenario(t: Test, databaseUrl: string): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await buildApp({ databaseUrl, development: true, sessionSecret: SESSION_SECRET, secretKey: SECRET_KEY, issuer: base });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port });
  await createUser(app.demo.db, { username: 'carol', password: PASSWORD, email: 'carol@example.com', name: 'Carol Example' });

  const redirectUri = `http://localhost:${port}/rp/callback`;
  const logoutUri = `http://localhost:${port}/rp/signed-out`;
  const registered = await app.oauth.registerClient({
    name: 'OpenID relying party',
    redirectUris: [redirectUri],
    postLogoutRedirectUris: [logoutUri],
    scopes: ['openid', 'profile', 'email', 'polls:read'],
    grantTypes: ['authorization_code', 'refresh_token'],
    type: 'confidential',
  });

  // Discovery (OpenID Connect Discovery 1.0): the issuer's openid-configuration, checked by the library.
  const config = await client.discovery(new URL(base), registered.client.id, registered.clientSecret!, undefined, {
    execute: [client.allowInsecureRequests],
  });
  const metadata = config.serverMetadata();
  t.equal(metadata.issuer, base);
  t.equal(metadata.userinfo_endpoint, `${base}/oauth/userinfo`);
  t.equal(metadata.end_session_endpoint, `${base}/oauth/logout`);
  t.equal(metadata.jwks_uri, `${base}/oauth/jwks.json`);
  t.strictSame(metadata.code_challenge_methods_supported, ['S256']);
  t.strictSame(metadata.subject_types_supported, ['public']);
  t.ok(metadata.id_token_signing_alg_values_supported?.includes('RS256'));

  const browser = new HttpBrowser();
  const authorize = async (extra: Record<string, string>, who: HttpBrowser = browser) => {
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      state,
      ...extra,
    });
    return { response: await who.request(url.href), verifier, nonce, state };
  };

  // The code flow: login, consent, the code, and tokens the library validates (ID token included).
  const first = await authorize({});
  t.equal(first.response.status, 302);
  t.match(first.response.location, /^\/login\?returnTo=/);
  const back = await logIn(browser, base, first.response.location!);
  const consent = await browser.request(new URL(back, base).href);
  t.equal(consent.status, 200);
  t.match(consent.body, /Shares your email address and whether it is verified/);
  const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(consent.body)?.[1];
  const approved = await browser.request(`${base}/oauth/authorize`, { form: { decision: 'approve', csrf_token: csrfToken! } });
  t.equal(approved.status, 303);
  const tokens = await client.authorizationCodeGrant(config, new URL(approved.location!), {
    pkceCodeVerifier: first.verifier,
    expectedNonce: first.nonce,
    expectedState: first.state,
    idTokenExpected: true,
  });
  const claims = tokens.claims()!;
  t.equal(claims.iss, base);
  t.equal(claims.aud, registered.client.id);
  t.equal(claims.nonce, first.nonce);
  t.type(claims.auth_time, 'number');
  t.type(claims.at_hash, 'string');
  const sub = claims.sub;

  const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub);
  t.strictSame(userinfo, { sub, preferred_username: 'carol', name: 'Carol Example', email: 'carol@example.com', email_verified: false });

  // Refresh (section 12.2): a new ID token for the same user, with the original auth_time.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
  const again = refreshed.claims()!;
  t.equal(again.sub, sub);
  t.equal(again.auth_time, claims.auth_time);
  t.not(refreshed.id_token, tokens.id_token);

  // prompt=login: signed in, but the login page asks for the password again; with prompt=consent
  // too, the consent page follows although the consent is remembered.
  const relogin = await authorize({ prompt: 'login consent' });
  t.equal(relogin.response.status, 302);
  t.match(relogin.response.location, /^\/login\?returnTo=%2Foauth%2Fauthorize&prompt=login$/);
  const loginPage = await browser.request(new URL(relogin.response.location!, base).href);
  t.equal(loginPage.status, 200, 'the form, although a session exists');
  t.match(loginPage.body, /log in again/);
  const resumed = await browser.request(new URL(await logIn(browser, base, relogin.response.location!), base).href);
  t.equal(resumed.status, 200);
  t.match(resumed.body, /Authorize <strong>OpenID relying party<\/strong>/);

  // prompt=none with the session: a code without any page, then tokens.
  const silent = await authorize({ prompt: 'none' });
  t.equal(silent.response.status, 302);
  const silentTokens = await client.authorizationCodeGrant(config, new URL(silent.response.location!), {
    pkceCodeVerifier: silent.verifier,
    expectedNonce: silent.nonce,
    expectedState: silent.state,
    idTokenExpected: true,
  });
  t.equal(silentTokens.claims()!.sub, sub);

  // prompt=none without a session: login_required, sent back to the client.
  const stranger = await authorize({ prompt: 'none' }, new HttpBrowser());
  t.equal(stranger.response.status, 302);
  await t.rejects(
    client.authorizationCodeGrant(config, new URL(stranger.response.location!), { pkceCodeVerifier: stranger.verifier, expectedNonce: stranger.nonce, expectedState: stranger.state }),
    { error: 'login_required' } as unknown as Error,
  );

  // RP-initiated logout: an unregistered URI is refused; the registered one gets state back, and the session ends.
  const wrong = await browser.request(client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${logoutUri}/other` }).href);
  t.equal(wrong.status, 400);
  const logout = await browser.request(client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: logoutUri, state: 'bye' }).href);
  t.equal(logout.status, 303);
  t.equal(logout.location, `${logoutUri}?state=bye`);
  const after = await authorize({ prompt: 'none' });
  t.equal(new URL(after.response.location!).searchParams.get('error'), 'login_required', 'the demo ended its session');
  const home = await browser.request(`${base}/account/apps`);
  t.equal(home.status, 303, 'the account pages ask for a login again');
}

await onEachDatabase('OpenID Connect with openid-client', async (t, database) => {
  await runScenario(t, database.url);
});

t.test('CLI: users with an email and a name, clients with post-logout redirect URIs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-oidc-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { DATABASE_URL: `sqlite:${join(dir, 'cli.sqlite')}`, DATA_DIR: join(dir, 'data'), NODE_ENV: 'development' };
  const user = await runCliProcess(['user:create', '--username', 'dora', '--password', 'dora-password', '--email', 'dora@example.com', '--name', 'Dora Explorer'], env);
  t.equal(user.code, 0, user.stderr);
  const plain = await runCliProcess(['user:create', '--username', 'eve', '--password', 'eve-password'], env);
  t.equal(plain.code, 0, plain.stderr);
  const badEmail = await runCliProcess(['user:create', '--username', 'fay', '--password', 'fay-password', '--email', 'not an address'], env);
  t.equal(badEmail.code, 2);
  t.match(badEmail.stderr, /email address/);
  const client = await runCliProcess(
    ['client:create', '--name', 'RP', '--redirect-uri', 'https://rp.example/cb', '--post-logout-redirect-uri', 'https://rp.example/bye', '--scope', 'openid profile email', '--json'],
    env,
  );
  t.equal(client.code, 0, client.stderr);
  const refused = await runCliProcess(['client:create', '--name', 'RP2', '--redirect-uri', 'https://rp.example/cb', '--post-logout-redirect-uri', 'javascript:alert(1)'], env);
  t.equal(refused.code, 2);
  t.match(refused.stderr, /scheme javascript: is not allowed/);

  const app = await buildApp({ databaseUrl: env.DATABASE_URL, development: true, sessionSecret: SESSION_SECRET, secretKey: SECRET_KEY });
  t.teardown(() => app.close());
  const { client_id: clientId } = JSON.parse(client.stdout) as { client_id: string };
  t.strictSame((await app.demo.storage.findClient(clientId))?.postLogoutRedirectUris, ['https://rp.example/bye']);
  const dora = await findUserByUsername(app.demo.db, 'dora');
  t.strictSame(await findAccountClaims(app.demo.db, dora!.id), { preferred_username: 'dora', name: 'Dora Explorer', email: 'dora@example.com', email_verified: false });
  const eve = await findUserByUsername(app.demo.db, 'eve');
  t.strictSame(await findAccountClaims(app.demo.db, eve!.id), { preferred_username: 'eve', name: 'eve' }, 'no email, the username as the name');
  t.equal(await findAccountClaims(app.demo.db, 'nobody'), null);
});
