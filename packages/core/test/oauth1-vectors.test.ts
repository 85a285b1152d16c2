import t from 'tap';
import type { OAuthRequest } from '../src/http.js';
import {
  buildBaseStringUri,
  buildSignatureBaseString,
  collectRequestParameters,
  normalizeParameters,
  percentDecode,
  percentEncode,
  signHmac,
} from '../src/oauth1/index.js';

// The published examples of RFC 5849, written here as the RFC prints them.

const CONSUMER_KEY = 'dpf43f3p2l4k3l03';
const CONSUMER_SECRET = 'kd94hf93k423kf44';

function request(method: string, url: string, headers: Record<string, string>, body?: Record<string, string | string[]>): OAuthRequest {
  return { method, url: new URL(url), headers, body, secure: url.startsWith('https:') };
}

function baseStringOf(req: OAuthRequest): string {
  return buildSignatureBaseString(req.method, req.url, collectRequestParameters(req).signatureParameters);
}

t.test('percent-encoding of section 3.6', async (t) => {
  t.equal(percentEncode('abcABC123-._~'), 'abcABC123-._~', 'unreserved characters stay');
  t.equal(percentEncode(' '), '%20', 'space is %20, never +');
  t.equal(percentEncode('+'), '%2B');
  t.equal(percentEncode("!*'()"), '%21%2A%27%28%29', 'what encodeURIComponent keeps is escaped');
  t.equal(percentEncode('=%3D'), '%3D%253D');
  t.equal(percentEncode('c@'), 'c%40');
  t.equal(percentEncode('/?&#'), '%2F%3F%26%23');
  t.equal(percentEncode('é'), '%C3%A9', 'UTF-8, uppercase hex');
  t.equal(percentEncode('☃'), '%E2%98%83');
  t.equal(percentEncode('𝄞'), '%F0%9D%84%9E', 'astral characters as four bytes');
  t.equal(percentEncode('\n'), '%0A');
  t.equal(percentEncode(''), '');
  t.equal(percentEncode('a\ud800b'), 'a%EF%BF%BDb', 'a lone surrogate is U+FFFD, as the UTF-8 encoder makes it');
  t.equal(percentEncode('\udc00'), '%EF%BF%BD');
});

t.test('percent-encoding agrees with a byte-by-byte reference on every UTF-16 code unit', async (t) => {
  const bytes = new TextEncoder();
  const reference = (value: string): string =>
    [...bytes.encode(value)]
      .map((byte) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`))
      .join('');
  const mismatches: number[] = [];
  for (let unit = 0; unit <= 0xffff; unit += 1) {
    const value = `x${String.fromCharCode(unit)}y`;
    if (percentEncode(value) !== reference(value)) mismatches.push(unit);
  }
  t.strictSame(mismatches, [], 'every code unit, surrogates included');
  const mixed = "Ünïcødé 𝄞 !*'() a+b=c&d ~-._ \ud83d";
  t.equal(percentEncode(mixed), reference(mixed));
});

t.test('percent-decoding of header parts', async (t) => {
  t.equal(percentDecode('plain-value_1.2~'), 'plain-value_1.2~', 'nothing to decode');
  t.equal(percentDecode('a%20b%2Bc+d'), 'a b+c+d', 'a plus sign stays');
  t.equal(percentDecode('%C3%A9'), 'é');
  t.throws(() => percentDecode('%E'), URIError, 'a broken escape');
  t.throws(() => percentDecode('%C3'), URIError, 'invalid UTF-8');
});

t.test('base string URI of section 3.4.1.2', async (t) => {
  t.equal(buildBaseStringUri('HTTP://EXAMPLE.COM:80/r%20v/X?id=123'), 'http://example.com/r%20v/X');
  t.equal(buildBaseStringUri('https://www.example.net:8080/?q=1'), 'https://www.example.net:8080/');
  t.equal(buildBaseStringUri('https://example.com:443/a#frag'), 'https://example.com/a', 'default https port and fragment dropped');
  t.equal(buildBaseStringUri('http://example.com:443/'), 'http://example.com:443/', 'port 443 is not the http default');
  t.equal(buildBaseStringUri('http://example.com'), 'http://example.com/', 'an empty path is /');
});

t.test('normalization of section 3.4.1.3.2 and the base string of section 3.4.1.1', async (t) => {
  const req = request(
    'POST',
    'http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b',
    {
      host: 'example.com',
      'content-type': 'application/x-www-form-urlencoded',
      authorization:
        'OAuth realm="Example",\r\n    oauth_consumer_key="9djdj82h48djs9d2",\r\n    oauth_token="kkk9d7dh3k39sjv7",\r\n' +
        '    oauth_signature_method="HMAC-SHA1",\r\n    oauth_timestamp="137131201",\r\n    oauth_nonce="7d8f3e4a",\r\n' +
        '    oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"',
    },
    // The body `c2&a3=2+q`, as a form parser hands it over.
    { c2: '', a3: '2 q' },
  );
  const collected = collectRequestParameters(req);
  t.equal(collected.source, 'header');
  t.equal(collected.realm, 'Example');
  t.equal(collected.protocol.get('oauth_signature'), 'bYT5CMsGcbgUdFHObYMEfcx6bsw=');
  t.equal(
    normalizeParameters(collected.signatureParameters),
    'a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&' +
      'oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7',
  );
  t.equal(
    baseStringOf(req),
    'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26' +
      'oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26' +
      'oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7',
  );

  // Without the form content type, the body is not signed.
  const notForm = { ...req, headers: { ...req.headers, 'content-type': 'application/json' } };
  t.notMatch(baseStringOf(notForm), /c2/);
});

t.test('normalization sorts by encoded name, then encoded value, in byte order', async (t) => {
  t.equal(
    normalizeParameters([
      ['b', '2'],
      ['a', 'z'],
      ['a', 'Z'],
      ['a', ' '],
      ['A', '1'],
      ['oauth_signature', 'dropped'],
      ['a_b', '1'],
      ['a-b', '1'],
    ]),
    'A=1&a=%20&a=Z&a=z&a-b=1&a_b=1&b=2',
  );
  t.equal(normalizeParameters([]), '');
});

t.test('section 1.2: the temporary credentials request (initiate)', async (t) => {
  const req = request('POST', 'https://photos.example.net/initiate', {
    host: 'photos.example.net',
    authorization:
      'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_signature_method="HMAC-SHA1", ' +
      'oauth_timestamp="137131200", oauth_nonce="wIjqoS", oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready", ' +
      'oauth_signature="74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D"',
  });
  const baseString = baseStringOf(req);
  t.equal(
    baseString,
    'POST&https%3A%2F%2Fphotos.example.net%2Finitiate&oauth_callback%3Dhttp%253A%252F%252Fprinter.example.com%252Fready%26' +
      'oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DwIjqoS%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131200',
  );
  t.equal(signHmac('sha1', baseString, CONSUMER_SECRET), '74KNZJeDHnMBp0EMJ9ZHt/XKycU=');
  t.equal(collectRequestParameters(req).protocol.get('oauth_consumer_key'), CONSUMER_KEY);
});

t.test('section 1.2: the token credentials request (token)', async (t) => {
  const req = request('POST', 'https://photos.example.net/token', {
    host: 'photos.example.net',
    authorization:
      'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="hh5s93j4hdidpola", ' +
      'oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="walatlh", ' +
      'oauth_verifier="hfdp7dh39dks9884", oauth_signature="gKgrFCywp7rO0OXSjdot%2FIHF7IU%3D"',
  });
  const baseString = baseStringOf(req);
  t.equal(
    baseString,
    'POST&https%3A%2F%2Fphotos.example.net%2Ftoken&oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dwalatlh%26' +
      'oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dhh5s93j4hdidpola%26oauth_verifier%3Dhfdp7dh39dks9884',
  );
  t.equal(signHmac('sha1', baseString, CONSUMER_SECRET, 'hdhd0244k9j7ao03'), 'gKgrFCywp7rO0OXSjdot/IHF7IU=');
});

t.test('section 1.2: the protected resource request (photos)', async (t) => {
  const req = request('GET', 'http://photos.example.net/photos?file=vacation.jpg&size=original', {
    host: 'photos.example.net',
    authorization:
      'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", ' +
      'oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", oauth_nonce="chapoH", ' +
      'oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"',
  });
  const baseString = baseStringOf(req);
  t.equal(
    baseString,
    'GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26' +
      'oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26' +
      'oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal',
  );
  t.equal(signHmac('sha1', baseString, CONSUMER_SECRET, 'pfkkdhi9sl3r4s00'), 'MdpQcU8iPSUjWoN/UDMsK2sui9I=');
  t.equal(collectRequestParameters(req).protocol.get('oauth_signature'), 'MdpQcU8iPSUjWoN/UDMsK2sui9I=');
});
