import { test } from 'tap';
import { parseOptions } from '../src/options.js';

test('the suite runs on the three stores, and --store picks some of them', async (t) => {
  t.same(parseOptions([]).stores, ['mysql', 'sqlite', 'postgres']);
  t.same(parseOptions(['--quick']).stores, ['mysql', 'sqlite', 'postgres'], 'the smoke test too');
  t.same(parseOptions(['--store=postgres']).stores, ['postgres']);
  t.same(parseOptions(['--store=postgres,mysql']).stores, ['mysql', 'postgres'], "in the suite's order");
  t.throws(() => parseOptions(['--store=oracle']), /unknown store 'oracle'/);
});
