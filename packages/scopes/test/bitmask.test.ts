import t from 'tap';
import { READ, READ_WRITE, ScopeRegistry, WRITE, check, createDefaultScopes, names, toInt } from '../src/index.js';

t.test('the examples of django-oauth2-provider, with its default registry', async (t) => {
  t.equal(READ, 2);
  t.equal(WRITE, 6, 'write includes read');
  t.equal(READ_WRITE, 6);
  t.equal(check(READ, READ), true);
  t.equal(check(WRITE, READ), false);
  t.equal(check(WRITE, WRITE), true);
  t.equal(check(READ, READ_WRITE), true);
  t.equal(check(WRITE, READ_WRITE), true);
  t.equal(toInt('read'), 2);
  t.equal(toInt('write'), 6);
  t.equal(toInt('read', 'write'), 6);
  t.equal(toInt('invalid'), 0);
  t.equal(toInt('invalid', { default: 1 }), 1);
  t.same(names(READ_WRITE), ['read', 'write']);
  t.same(names(READ), ['read']);
  t.same(names(0), []);
});

t.test('the check examples as the document wrote them, where write did not include read', async (t) => {
  // The document's own table: READ = 1 << 1, WRITE = 1 << 2, READ_WRITE = READ | WRITE.
  const legacy = new ScopeRegistry([
    { name: 'read', bit: 1 },
    { name: 'write', bit: 2 },
  ]);
  const [R, W] = [legacy.toInt('read'), legacy.toInt('write')];
  const RW = R | W;
  t.equal(R, 2);
  t.equal(W, 4);
  t.equal(legacy.check(R, R), true);
  t.equal(legacy.check(W, R), false);
  t.equal(legacy.check(W, W), true);
  t.equal(legacy.check(R, W), false);
  t.equal(legacy.check(R, RW), true);
  t.equal(legacy.check(W, RW), true);
  t.same(legacy.names(RW), ['read', 'write']);
  t.equal(legacy.toInt('read', 'write'), 6);
});

t.test('toInt ORs names onto the default, as the seed reduces onto it', async (t) => {
  t.equal(toInt('read', { default: 1 }), 3);
  t.equal(toInt(), 0);
  t.equal(toInt({ default: 8 }), 8);
  t.throws(() => toInt('read', { default: -1 }), RangeError);
});

t.test('check and names accept strings, lists and bigint masks alike', async (t) => {
  t.equal(check('read', 'write'), true);
  t.equal(check('write', 'read'), false);
  t.equal(check(['read'], 6n), true);
  t.equal(check('read write', READ), false);
  t.same(names('write'), ['read', 'write']);
  t.throws(() => check('nope', 'read'), { name: 'ScopeError', scope: 'nope' });
});

t.test('createDefaultScopes gives a fresh registry each time', async (t) => {
  const a = createDefaultScopes();
  a.define('polls:vote');
  t.equal(a.has('polls:vote'), true);
  t.equal(createDefaultScopes().has('polls:vote'), false);
  t.same(createDefaultScopes().list().map((s) => [s.name, s.bit, s.mask]), [
    ['read', 1, 2n],
    ['write', 2, 6n],
  ]);
});
