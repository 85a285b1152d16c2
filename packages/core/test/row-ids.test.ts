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
