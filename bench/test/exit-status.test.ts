import { test } from 'tap';
import { exitStatus } from '../src/exit-status.js';
import type { TargetResult } from '../src/measure-target.js';
import type { TargetCheck } from '../src/targets.js';

const answered = (key: string, ok: boolean) => ({ key, ok }) as TargetResult;
const check = (pass: boolean | null): TargetCheck => ({ name: 'S2 >= 0.8 x B2', store: 'mysql', detail: '', pass });

test('a target that did not answer as expected is 1, before any verdict', async (t) => {
  t.equal(exitStatus([answered('B0', true), answered('S2/mysql', false)], [check(false)], false, '1'), 1);
  t.equal(exitStatus([answered('S2/mysql', false)], [], true, '1'), 1, 'quick runs too');
});

test('a missed target is 2 in a full run and 0 in a quick one', async (t) => {
  const results = [answered('S2/mysql', true)];
  t.equal(exitStatus(results, [check(true), check(false)], false, '1'), 2);
  t.equal(exitStatus(results, [check(false)], true, '1'), 0);
});

test('passed and unjudged targets are 0', async (t) => {
  t.equal(exitStatus([answered('S2/mysql', true)], [check(true), check(null)], false, '1'), 0);
});
