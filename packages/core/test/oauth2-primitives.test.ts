import t from 'tap';
import {
  OAuthError,
  assertValidRedirectUri,
  buildRedirectLocation,
  computeS256Challenge,
  isValidCodeChallenge,
  isValidCodeVerifier,
  matchesRedirectUri,
  parseBasicCredentials,
  verifyCodeVerifier,
} from '../src/index.js';
import { CHALLENGE, VERIFIER } from './oauth2-fixtures.js';

t.test('PKCE: the RFC 7636 appendix B vector', async (t) => {
  t.equal(computeS256Challenge(VERIFIER), CHALLENGE);
  t.ok(verifyCodeVerifier(VERIFIER, CHALLENGE, 'S256'));
  t.notOk(verifyCodeVerifier(VERIFIER, CHALLENGE.replace('E9', 'E8'), 'S256'), 'a different challenge fails');
  t.notOk(verifyCodeVerifier(`${VERIFIER}x`, CHALLENGE, 'S256'), 'a different verifier fails');
});

t.test('PKCE: plain compares the verifier itself', async (t) => {
  t.ok(verifyCodeVerifier(VERIFIER, VERIFIER, 'plain'));
  t.notOk(verifyCodeVerifier(VERIFIER, CHALLENGE, 'plain'));
});

t.test('PKCE: the grammar is 43 to 128 unreserved characters', async (t) => {
  t.ok(isValidCodeVerifier('a'.repeat(43)));
  t.ok(isValidCodeVerifier('A-._~'.repeat(25) + 'abc'));
  t.notOk(isValidCodeVerifier('a'.repeat(42)), 'too short');
  t.notOk(isValidCodeVerifier('a'.repeat(129)), 'too long');
  t.notOk(isValidCodeVerifier(`${'a'.repeat(42)}+`), 'plus is not unreserved');
  t.notOk(isValidCodeVerifier(`${'a'.repeat(42)}=`), 'padding is not unreserved');
  t.ok(isValidCodeChallenge(CHALLENGE));
  t.notOk(isValidCodeChallenge('short'));
  t.notOk(verifyCodeVerifier('a'.repeat(42), 'a'.repeat(42), 'plain'), 'a malformed verifier never verifies');
});

t.test('redirect URIs match character for character', async (t) => {
  const registered = 'https://client.example.com/cb';
  t.ok(matchesRedirectUri(registered, registered));
  t.notOk(matchesRedirectUri('https://client.example.com/cb/', registered), 'trailing slash');
  t.notOk(matchesRedirectUri('https://CLIENT.example.com/cb', registered), 'host case');
  t.notOk(matchesRedirectUri('https://client.example.com/cb?x=1', registered), 'extra query');
  t.notOk(matchesRedirectUri('https://client.example.com:443/cb', registered), 'explicit default port');
  t.notOk(matchesRedirectUri('https://client.example.com/%63b', registered), 'percent-encoded path');
  t.notOk(matchesRedirectUri('https://client.example.com:8443/cb', registered), 'the port exception is for loopback only');
});

t.test('RFC 8252 loopback: any port, the same path and query', async (t) => {
  t.ok(matchesRedirectUri('http://127.0.0.1:51004/cb', 'http://127.0.0.1/cb'));
  t.ok(matchesRedirectUri('http://127.0.0.1/cb', 'http://127.0.0.1:8080/cb'));
  t.ok(matchesRedirectUri('http://[::1]:1234/cb?a=1', 'http://[::1]/cb?a=1'));
  t.notOk(matchesRedirectUri('http://127.0.0.1:51004/other', 'http://127.0.0.1/cb'), 'path differs');
  t.notOk(matchesRedirectUri('http://127.0.0.1:51004/cb?a=2', 'http://127.0.0.1/cb?a=1'), 'query differs');
  t.notOk(matchesRedirectUri('http://127.0.0.1:51004/cb#x', 'http://127.0.0.1/cb'), 'fragment');
  t.notOk(matchesRedirectUri('http://[::1]:51004/cb', 'http://127.0.0.1/cb'), 'another loopback address');
  t.notOk(matchesRedirectUri('http://127.0.0.1:70000/cb', 'http://127.0.0.1/cb'), 'not a port');
  t.notOk(matchesRedirectUri('https://127.0.0.1:5000/cb', 'http://127.0.0.1/cb'), 'scheme differs');
  t.notOk(matchesRedirectUri('http://localhost:5000/cb', 'http://localhost/cb'), 'localhost is not an IP literal');
  t.notOk(matchesRedirectUri('http://127.0.0.1:5000@evil.example/cb', 'http://127.0.0.1/cb'), 'userinfo trick');
});

t.test('redirect URIs checked at registration', async (t) => {
  const refused = (uri: string, enforceSecure = true) => {
    try {
      assertValidRedirectUri(uri, enforceSecure);
      return false;
    } catch (error) {
      return error instanceof OAuthError && error.error === 'invalid_request';
    }
  };
  t.notOk(refused('https://client.example.com/cb'));
  t.notOk(refused('http://127.0.0.1/cb'));
  t.notOk(refused('http://[::1]:8080/cb'));
  t.notOk(refused('http://localhost:3000/cb'));
  t.notOk(refused('com.example.app:/oauth2redirect'), 'private-use scheme for native apps');
  t.notOk(refused('http://client.example.com/cb', false), 'http anywhere when TLS is not enforced');
  t.ok(refused('http://client.example.com/cb'), 'http off loopback');
  t.ok(refused('javascript:alert(1)'));
  t.ok(refused('JavaScript:alert(1)'));
  t.ok(refused('data:text/html,hi'));
  t.ok(refused('file:///etc/passwd'));
  t.ok(refused('https://client.example.com/cb#frag'));
  t.ok(refused('https://client.example.com/cb#'), 'an empty fragment too');
  t.ok(refused('/relative/cb'));
  t.ok(refused('https://client.example.com/c b'));
  t.ok(refused('https://user:pw@client.example.com/cb'));
  t.ok(refused(''));
});

t.test('redirect locations keep the registered query and use the fragment for tokens', async (t) => {
  t.equal(buildRedirectLocation('https://c.example/cb', { code: 'a b', state: null }, 'query'), 'https://c.example/cb?code=a+b');
  t.equal(buildRedirectLocation('https://c.example/cb?x=1', { code: 'c', state: 's' }, 'query'), 'https://c.example/cb?x=1&code=c&state=s');
  t.equal(buildRedirectLocation('https://c.example/cb', { access_token: 't', state: 's&' }, 'fragment'), 'https://c.example/cb#access_token=t&state=s%26');
  t.equal(buildRedirectLocation('https://c.example/bye', { state: null }, 'query'), 'https://c.example/bye', 'nothing to add: no dangling ?');
});

t.test('Basic credentials are form-urlencoded inside base64 (RFC 6749 2.3.1)', async (t) => {
  const header = `Basic ${Buffer.from('my+client%3A1:p%40ss+word%25').toString('base64')}`;
  t.same(parseBasicCredentials(header), { clientId: 'my client:1', clientSecret: 'p@ss word%' });
  t.same(parseBasicCredentials(`basic ${Buffer.from('a:b').toString('base64')}`), { clientId: 'a', clientSecret: 'b' }, 'scheme is case-insensitive');
  t.equal(parseBasicCredentials('Basic !!!'), null, 'not base64');
  t.equal(parseBasicCredentials(`Basic ${Buffer.from('nocolon').toString('base64')}`), null);
  t.equal(parseBasicCredentials(`Basic ${Buffer.from(':secret').toString('base64')}`), null, 'empty id');
  t.equal(parseBasicCredentials(`Basic ${Buffer.from('id:%E0%A4%A').toString('base64')}`), null, 'bad percent-encoding');
  t.same(parseBasicCredentials(`Basic ${Buffer.from('clïent:sécret').toString('base64')}`), { clientId: 'clïent', clientSecret: 'sécret' }, 'UTF-8 inside');
});

t.test('Basic credentials decode as Buffer decodes base64, whatever the padding and length', async (t) => {
  // The reference: the decoding before the atob fast path.
  const reference = (header: string) => {
    const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
    if (!match?.[1]) return null;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return null;
    const decode = (text: string) => {
      try {
        return decodeURIComponent(text.replace(/\+/g, ' '));
      } catch {
        return null;
      }
    };
    const clientId = decode(decoded.slice(0, colon));
    const clientSecret = decode(decoded.slice(colon + 1));
    if (clientId === null || clientSecret === null || clientId === '' || clientSecret === '') return null;
    return { clientId, clientSecret };
  };
  const encoded = ['pci_abc:pcs_def', 'a:b', 'my+client%3A1:p%40ss+word%25', 'é:ü', 'id:\u0000\u007f', 'x:%zz', 'id:+'].map((text) =>
    Buffer.from(text).toString('base64'),
  );
  const bodies = new Set<string>();
  for (const base of encoded) {
    const bare = base.replace(/=+$/, '');
    // Canonical, unpadded, over- and under-padded, cut to every length (4n+1 included), and
    // with non-zero trailing bits, which Buffer decodes leniently and atob refuses or ignores.
    for (const body of [base, bare, `${bare}=`, `${bare}==`, `${base}=`]) bodies.add(body);
    for (let cut = 1; cut < bare.length; cut++) bodies.add(bare.slice(0, cut));
    bodies.add(bare.slice(0, -1) + (bare.endsWith('B') ? 'C' : 'B'));
  }
  let random = 7;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 3000; i++) {
    let body = '';
    const length = 1 + (i % 23);
    for (let j = 0; j < length; j++) {
      random = (random * 1103515245 + 12345) % 2147483648;
      body += alphabet[(random >>> 16) % 64];
    }
    bodies.add(body + '='.repeat(i % 3));
  }
  let checked = 0;
  for (const body of bodies) {
    for (const header of [`Basic ${body}`, `basic  ${body} `]) {
      const expected = reference(header);
      const actual = parseBasicCredentials(header);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) t.fail(`${header}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
      checked += 1;
    }
  }
  t.ok(checked > 6000, `${checked} headers agree with the reference`);
});
