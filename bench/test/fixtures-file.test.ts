import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'tap';
import type { Fixtures } from '../src/protocol.js';
import { writeFixtures } from '../src/server/fixtures-file.js';

test('the fixtures file holds the fixtures, S5 codes written a piece at a time', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-fixtures-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'fixtures.json');
  const code = (n: number) => ({ code: `pc_code_${n}`, verifier: `verifier "${n}"`, redirectUri: 'http://127.0.0.1/cb' });
  // Around the piece size (256): none, one, a full piece, one more, several.
  for (const count of [0, 1, 256, 257, 1000]) {
    const fixtures: Fixtures = { clientId: 'client', clientSecret: 'secret', codes: Array.from({ length: count }, (_, n) => code(n)) };
    await writeFixtures(file, fixtures);
    t.same(JSON.parse(await readFile(file, 'utf8')), fixtures, `${count} codes`);
  }
  const withoutCodes: Fixtures = { clientId: 'client', clientSecret: 'secret', accessTokens: ['a', 'b'] };
  await writeFixtures(file, withoutCodes);
  t.same(JSON.parse(await readFile(file, 'utf8')), withoutCodes, 'no codes');
});
