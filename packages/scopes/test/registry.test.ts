import t from 'tap';
import { ScopeError, ScopeRegistry, createDefaultScopes } from '../src/index.js';

t.test('string scopes get bits, so checks are mask tests', async (t) => {
  const scopes = createDefaultScopes().define('polls:read').define('polls:vote').define('polls:results');
  t.same(scopes.list().map((s) => s.bit), [1, 2, 3, 4, 5]);
  t.equal(scopes.maskOf('polls:vote'), 1n << 4n);
  t.equal(scopes.check('polls:vote', 'polls:read polls:vote'), true);
  t.equal(scopes.check('polls:vote polls:results', 'polls:vote'), false);
  t.equal(scopes.check('', 'polls:vote'), true, 'nothing wanted is always granted');
});

t.test('implications: a scope can include others, transitively', async (t) => {
  const scopes = new ScopeRegistry([
    'polls:read',
    { name: 'polls:vote', includes: ['polls:read'] },
    { name: 'polls:admin', includes: ['polls:vote'], description: 'Run the polls' },
  ]);
  t.equal(scopes.check('polls:read', 'polls:admin'), true);
  t.equal(scopes.check('polls:admin', 'polls:vote'), false);
  t.same(scopes.names('polls:admin'), ['polls:read', 'polls:vote', 'polls:admin']);
  t.equal(scopes.get('polls:admin')?.description, 'Run the polls');
  t.same(scopes.get('polls:admin')?.includes, ['polls:vote']);
});

t.test('definitions that would change the meaning of masks are refused', async (t) => {
  const scopes = createDefaultScopes();
  t.throws(() => scopes.define('read'), { name: 'ScopeError', message: /already defined/ });
  t.throws(() => scopes.define({ name: 'other', bit: 2 }), { message: /bit 2 .* already taken/ });
  t.throws(() => scopes.define({ name: 'x', includes: ['later'] }), { message: /not defined yet/ });
  t.throws(() => scopes.define({ name: 'y', bit: 1024 }), { message: /bits run from 0 to 1023/ });
  t.throws(() => scopes.define({ name: 'z', bit: 1.5 }), ScopeError);
  t.throws(() => scopes.define('has space'), { message: /scope-token/ });
  t.throws(() => scopes.define('quote"d'), ScopeError);
  t.same(scopes.list().map((s) => s.name), ['read', 'write'], 'nothing was added by the failures');
});

t.test('a registry is not capped at 31 scopes', async (t) => {
  const scopes = new ScopeRegistry();
  for (let i = 0; i < 100; i++) scopes.define(`s${i}`);
  t.equal(scopes.get('s99')?.bit, 100);
  t.equal(scopes.check('s99 s0', 's0 s50 s99'), true);
  t.equal(scopes.check('s98', 's0 s50 s99'), false);
  t.throws(() => scopes.toInt('s99'), RangeError, 'a mask past 2^53 has no exact number');
  t.equal(scopes.maskOf('s99'), 1n << 100n);
});

t.test('parse checks the grammar and the names', async (t) => {
  const scopes = createDefaultScopes();
  t.same(scopes.parse('write read write'), ['write', 'read']);
  t.same(scopes.parse(''), []);
  t.throws(() => scopes.parse('read admin'), { name: 'ScopeError', scope: 'admin', message: 'unknown scope "admin"' });
  t.throws(() => scopes.parse('read\twrite'), { message: /grammar/ });
  t.throws(() => scopes.maskOf(-1), RangeError);
});
