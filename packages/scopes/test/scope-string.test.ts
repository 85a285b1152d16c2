import t from 'tap';
import fc from 'fast-check';
import {
  ScopeError,
  differenceOfScopes,
  formatScope,
  intersectScopes,
  isScopeToken,
  isSubset,
  parseScope,
  sameScopes,
  unionOfScopes,
} from '../src/index.js';

// Every character RFC 6749 section 3.3 allows in a scope-token.
const tokenChars = [...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))].filter(
  (c) => c !== '"' && c !== '\\',
);
const token = fc.string({ unit: fc.constantFrom(...tokenChars), minLength: 1, maxLength: 12 });
const tokens = fc.array(token, { maxLength: 12 });

t.test('examples', async (t) => {
  t.same(parseScope('polls:vote polls:results'), ['polls:vote', 'polls:results']);
  t.same(parseScope('a  b a '), ['a', 'b'], 'repeated spaces and duplicates are folded');
  t.same(parseScope(''), []);
  t.equal(formatScope(['b', 'a', 'b']), 'b a');
  t.equal(isScopeToken('polls:vote'), true);
  for (const bad of ['a"b', 'a\\b', 'tab\tx', 'é', 'new\nline', '\u0000']) {
    t.throws(() => parseScope(`ok ${bad}`), ScopeError, `refuses ${JSON.stringify(bad)}`);
    t.equal(isScopeToken(bad), false);
  }
  t.throws(() => formatScope(['ok', '']), ScopeError);
  t.throws(() => parseScope('read\u00a0write'), { message: /outside the RFC 6749 scope-token grammar/ });
});

t.test('set algebra examples', async (t) => {
  t.equal(isSubset(['a'], ['a', 'b']), true);
  t.equal(isSubset(['a', 'c'], ['a', 'b']), false);
  t.same(intersectScopes(['c', 'a', 'b'], new Set(['a', 'c'])), ['c', 'a']);
  t.same(differenceOfScopes(['c', 'a', 'b'], ['a']), ['c', 'b']);
  t.same(unionOfScopes(['a', 'b'], ['c', 'a']), ['a', 'b', 'c']);
  t.equal(sameScopes(['a', 'b', 'a'], ['b', 'a']), true);
  t.equal(sameScopes(['a'], ['a', 'b']), false);
});

t.test('properties', async (t) => {
  fc.assert(
    fc.property(tokens, (list) => {
      const parsed = parseScope(formatScope(list));
      return sameScopes(parsed, list) && new Set(parsed).size === parsed.length;
    }),
    { numRuns: 500 },
  );
  t.pass('format then parse gives back the distinct tokens');

  fc.assert(
    fc.property(tokens, (list) => formatScope(parseScope(formatScope(list))) === formatScope(list)),
    { numRuns: 500 },
  );
  t.pass('formatting is a fixed point of parsing');

  fc.assert(
    fc.property(tokens, tokens, (a, b) => {
      const i = intersectScopes(a, b);
      return isSubset(i, a) && isSubset(i, b) && sameScopes(i, intersectScopes(b, a));
    }),
    { numRuns: 500 },
  );
  t.pass('the intersection is within both and commutes as a set');

  fc.assert(
    fc.property(tokens, tokens, (a, b) => {
      const d = differenceOfScopes(a, b);
      return sameScopes(unionOfScopes(d, intersectScopes(a, b)), a) && intersectScopes(d, b).length === 0;
    }),
    { numRuns: 500 },
  );
  t.pass('difference and intersection partition a set');

  fc.assert(
    fc.property(fc.string(), (s) => {
      try {
        const parsed = parseScope(s);
        return parsed.every(isScopeToken);
      } catch (error) {
        return error instanceof ScopeError && [...s].some((c) => c !== ' ' && !tokenChars.includes(c));
      }
    }),
    { numRuns: 1000 },
  );
  t.pass('parse refuses exactly the strings with characters outside the grammar');
});
