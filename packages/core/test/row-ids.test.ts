import t from 'tap';
import { generateId, type Entropy } from '../src/index.js';

const fixedBytes = (fill: number): Entropy => ({ randomBytes: (size) => new Uint8Array(size).fill(fill) });

t.test('row ids are 26 characters of Crockford base32: the time, then 80 random bits', async (t) => {
  const id = generateId(undefined, Date.UTC(2026, 10, 23));
  t.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  // The ULID layout: time 0 and all-zero randomness is all zeros; the largest 48-bit time and all-one bits is 7ZZ...Z.
  t.equal(generateId(fixedBytes(0), 0), '0'.repeat(26));
  t.equal(generateId(fixedBytes(255), 2 ** 48 - 1), `7${'Z'.repeat(25)}`);
  t.equal(generateId(fixedBytes(0), 32), `00000000100000000000000000`, 'the time is big-endian base32');
});

t.test('each random group of 5 bytes is read big-endian into 8 characters', async (t) => {
  const bytes = Uint8Array.from([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0x32]);
  const entropy: Entropy = { randomBytes: () => bytes };
  // 0x0123456789 is base32 4hkaps9 and 0xabcdef1032 is lf6uu41i (JavaScript's digits), the time
  // 1k82r7k00; in Crockford's alphabet (no I, L, O, U) those read as below.
  const id = generateId(entropy, Date.UTC(2026, 10, 23));
  t.equal(id, '01M82V7M00' + '04HMASW9' + 'NF6YY41J');
  t.equal(generateId(fixedBytes(0), 0), '0'.repeat(26), 'nothing of the previous id is left in the next');
});

t.test('row ids sort by creation time, as strings, in any collation', async (t) => {
  const start = Date.UTC(2026, 0, 1);
  const ids = Array.from({ length: 200 }, (_, index) => generateId(undefined, start + index * 997));
  t.same([...ids].sort(), ids, 'byte order');
  t.same([...ids].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())), ids, 'case-insensitive order');
});

t.test('row ids made in the same millisecond differ', async (t) => {
  const now = Date.now();
  const ids = new Set(Array.from({ length: 10_000 }, () => generateId(undefined, now)));
  t.equal(ids.size, 10_000);
});

t.test('the system entropy hands out fresh bytes of the size asked for, never changed later', async (t) => {
  const { systemEntropy } = await import('../src/index.js');
  const seen = new Set<string>();
  let wrongLength = 0;
  for (let draw = 0; draw < 2000; draw += 1) {
    const bytes = systemEntropy.randomBytes(32);
    if (bytes.length !== 32) wrongLength += 1;
    seen.add(Buffer.from(bytes).toString('hex'));
  }
  t.equal(wrongLength, 0, 'every draw has the size asked for');
  t.equal(seen.size, 2000, 'no two draws are equal');
  const first = systemEntropy.randomBytes(16);
  const copy = Buffer.from(first);
  systemEntropy.randomBytes(16);
  t.same(Buffer.from(first), copy, 'a handed-out draw is not changed by later draws');
  t.equal(systemEntropy.randomBytes(4096).length, 4096, 'large draws too');
});
