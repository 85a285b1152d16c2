import { createHmac, generateKeyPairSync, verify } from 'node:crypto';
import t from 'tap';
import { OAuthError } from '../src/errors.js';
import {
  buildSigningKey,
  collectRequestParameters,
  createSignature,
  formatAuthorizationHeader,
  isFormContentType,
  parseAuthorizationHeader,
  signPlaintext,
  signRsaSha1,
  verifySignature,
} from '../src/oauth1/index.js';

/** The OAuth error `fn` throws, or undefined when it does not throw. */
function thrown(fn: () => unknown): OAuthError | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
  return undefined;
}

const BASE = 'GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg';

t.test('RSA-SHA1 with a key pair made here', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  const signature = signRsaSha1(BASE, privatePem);
  t.match(signature, /^[A-Za-z0-9+/]+={0,2}$/, 'base64');
  t.equal(Buffer.from(signature, 'base64').length, 256, 'one 2048-bit RSA block');
  // Checked by node:crypto directly, so the signer is not only checked by its own verifier.
  t.equal(verify('RSA-SHA1', Buffer.from(BASE), publicKey, Buffer.from(signature, 'base64')), true);
  t.equal(createSignature('RSA-SHA1', BASE, { privateKey }), signature, 'PKCS#1 v1.5 is deterministic');

  t.equal(verifySignature('RSA-SHA1', BASE, signature, { publicKey: publicPem }), true);
  t.equal(verifySignature('RSA-SHA1', `${BASE}x`, signature, { publicKey: publicPem }), false, 'another base string');
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  t.equal(verifySignature('RSA-SHA1', BASE, signature, { publicKey: other }), false, 'another key');
  t.equal(verifySignature('RSA-SHA1', BASE, 'not base64!', { publicKey: publicPem }), false);
  t.equal(verifySignature('RSA-SHA1', BASE, '', { publicKey: publicPem }), false);
  t.equal(verifySignature('RSA-SHA1', BASE, signature, { publicKey: 'not a pem' }), false, 'a broken key fails, never throws');
  t.equal(verifySignature('RSA-SHA1', BASE, signature, {}), false);
  t.throws(() => createSignature('RSA-SHA1', BASE, {}), TypeError);
});

t.test('HMAC-SHA1 and HMAC-SHA256 keys and values', async (t) => {
  t.equal(buildSigningKey('kd94hf93k423kf44'), 'kd94hf93k423kf44&', 'the & stays without a token secret');
  t.equal(buildSigningKey('a b', 'c&d'), 'a%20b&c%26d', 'both secrets encoded');
  const expected256 = createHmac('sha256', 'cs&ts').update(BASE).digest('base64');
  t.equal(createSignature('HMAC-SHA256', BASE, { consumerSecret: 'cs', tokenSecret: 'ts' }), expected256);
  t.equal(verifySignature('HMAC-SHA256', BASE, expected256, { consumerSecret: 'cs', tokenSecret: 'ts' }), true);
  t.equal(verifySignature('HMAC-SHA256', BASE, expected256, { consumerSecret: 'cs', tokenSecret: 'tt' }), false);
  t.equal(verifySignature('HMAC-SHA1', BASE, expected256, { consumerSecret: 'cs', tokenSecret: 'ts' }), false, 'the method matters');
  t.equal(verifySignature('HMAC-SHA1', BASE, '', { consumerSecret: 'cs' }), false);
  t.equal(verifySignature('HMAC-SHA1', BASE, 'x', {}), false, 'no secret, no match');
});

t.test('PLAINTEXT is the encoded key', async (t) => {
  t.equal(signPlaintext('djr9rjt0jd78jf88', 'jjd99$tj88uiths3'), 'djr9rjt0jd78jf88&jjd99%24tj88uiths3');
  t.equal(signPlaintext('djr9rjt0jd78jf88'), 'djr9rjt0jd78jf88&');
  t.equal(verifySignature('PLAINTEXT', 'ignored', 'djr9rjt0jd78jf88&', { consumerSecret: 'djr9rjt0jd78jf88' }), true);
  t.equal(verifySignature('PLAINTEXT', 'ignored', 'djr9rjt0jd78jf88&x', { consumerSecret: 'djr9rjt0jd78jf88' }), false);
});

t.test('the Authorization header', async (t) => {
  t.same(parseAuthorizationHeader('OAuth realm="Photos", oauth_token="a%20b", , oauth_nonce=bare,oauth_x="%2B+"'), [
    ['realm', 'Photos'],
    ['oauth_token', 'a b'],
    ['oauth_nonce', 'bare'],
    ['oauth_x', '++'],
  ]);
  t.same(parseAuthorizationHeader('oauth oauth_a="1"'), [['oauth_a', '1']], 'the scheme is case-insensitive');
  t.same(parseAuthorizationHeader('OAuth'), []);
  t.equal(parseAuthorizationHeader('Bearer abc'), null, 'not ours');
  t.equal(parseAuthorizationHeader('OAuthx a="1"'), null);
  for (const broken of ['OAuth oauth_a="1" oauth_b="2"', 'OAuth oauth_a="%ZZ"', 'OAuth ="1"', 'OAuth oauth_a="1']) {
    const error = thrown(() => parseAuthorizationHeader(broken));
    t.equal(error?.error, 'parameter_rejected', broken);
    t.equal(error?.status, 400, broken);
  }
  const header = formatAuthorizationHeader({ oauth_callback: 'http://x.example/?a=b c', oauth_nonce: 'n' }, 'Photos');
  t.equal(header, 'OAuth realm="Photos", oauth_callback="http%3A%2F%2Fx.example%2F%3Fa%3Db%20c", oauth_nonce="n"');
  t.same(parseAuthorizationHeader(header), [
    ['realm', 'Photos'],
    ['oauth_callback', 'http://x.example/?a=b c'],
    ['oauth_nonce', 'n'],
  ]);
});

t.test('parameter sources', async (t) => {
  const url = new URL('http://example.com/r?oauth_nonce=q&x=1');
  t.equal(
    thrown(() => collectRequestParameters({ url, headers: { authorization: 'OAuth oauth_consumer_key="k"' } }))?.error,
    'parameter_rejected',
    'protocol parameters in the header and the query',
  );
  t.equal(
    thrown(() =>
      collectRequestParameters({
        url: new URL('http://example.com/r'),
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'OAuth oauth_consumer_key="k"' },
        body: { oauth_nonce: 'n' },
      }),
    )?.error,
    'parameter_rejected',
    'protocol parameters in the header and the body',
  );
  t.equal(
    thrown(() => collectRequestParameters({ url: new URL('http://example.com/r?oauth_nonce=a&oauth_nonce=b'), headers: {} }))?.error,
    'parameter_rejected',
    'a repeated protocol parameter',
  );
  t.equal(
    thrown(() => collectRequestParameters({ url: new URL('http://example.com/r'), headers: { authorization: 'OAuth realm="a", realm="b"' } }))?.error,
    'parameter_rejected',
    'realm twice',
  );

  const fromBody = collectRequestParameters({
    url: new URL('http://example.com/r?x=1&x=2'),
    headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=utf-8', authorization: 'Bearer zzz' },
    body: { oauth_nonce: 'n', y: ['a', 'b'] },
  });
  t.equal(fromBody.source, 'body');
  t.same(fromBody.signatureParameters, [
    ['x', '1'],
    ['x', '2'],
    ['oauth_nonce', 'n'],
    ['y', 'a'],
    ['y', 'b'],
  ]);
  t.equal(fromBody.realm, null);

  const none = collectRequestParameters({ url: new URL('http://example.com/'), headers: {} });
  t.equal(none.source, null);
  t.equal(none.protocol.size, 0);

  t.equal(isFormContentType('application/x-www-form-urlencoded'), true);
  t.equal(isFormContentType('multipart/form-data; boundary=x'), false);
  t.equal(isFormContentType(undefined), false);
});
