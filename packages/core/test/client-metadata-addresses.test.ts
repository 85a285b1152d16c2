import t from 'tap';
import { createAuthorizationServer, isPublicAddress, MemoryStorage } from '../src/index.js';

t.test('only global unicast addresses may serve a client metadata document', async (t) => {
  const refused = [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '100.64.0.1', // CGNAT
    '169.254.169.254', // cloud metadata service
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254', // cloud metadata service over IPv6
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '64:ff9b::a00:1', // NAT64 of 10.0.0.1
    '2002:a00:1::1', // 6to4 of 10.0.0.1
    'not an address',
  ];
  for (const address of refused) t.notOk(isPublicAddress(address, false), `${address} is refused`);
  for (const address of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
    t.ok(isPublicAddress(address, false), `${address} is public`);
  }
});

t.test('the development option admits loopback and nothing else', async (t) => {
  for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) t.ok(isPublicAddress(address, true), `${address} with the option`);
  for (const address of ['10.0.0.1', '169.254.169.254', 'fd00:ec2::254']) t.notOk(isPublicAddress(address, true), `${address} even with the option`);
});

t.test('clientIdMetadataDocuments is checked at construction', async (t) => {
  const base = { storage: new MemoryStorage(), issuer: 'https://auth.example' };
  const bad: [unknown, RegExp][] = [
    ['yes', /must be an object/],
    [{}, /enabled must be a boolean/],
    [{ enabled: true, maxBytes: 0 }, /maxBytes must be a positive whole number/],
    [{ enabled: true, timeout: 1.5 }, /timeout must be a positive whole number/],
    [{ enabled: true, allowHost: 'example.com' }, /allowHost must be a function/],
    [{ enabled: true, cacheTtl: { min: 100, max: 10 } }, /cacheTtl.min must not exceed cacheTtl.max/],
    [{ enabled: true, allowLoopbackForDevelopment: 'yes' }, /allowLoopbackForDevelopment must be a boolean/],
  ];
  for (const [value, message] of bad) {
    t.throws(() => createAuthorizationServer({ ...base, clientIdMetadataDocuments: value as never }), { name: 'TypeError', message });
  }
  const off = createAuthorizationServer({ ...base, clientIdMetadataDocuments: { enabled: false } });
  t.equal((off.getMetadata().body as Record<string, unknown>).client_id_metadata_document_supported, undefined);
  const on = createAuthorizationServer({ ...base, clientIdMetadataDocuments: { enabled: true } });
  t.equal((on.getMetadata().body as Record<string, unknown>).client_id_metadata_document_supported, true);
});
