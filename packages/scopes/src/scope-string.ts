import { ScopeError } from './scope-error.js';

// RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), that is printable ASCII
// without space, double quote and backslash.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Whether `token` is one scope-token of the RFC 6749 grammar. */
export function isScopeToken(token: string): boolean {
  return SCOPE_TOKEN.test(token);
}

/**
 * Parses a space-delimited scope string into its distinct tokens, in first-seen order.
 * An empty or all-space string is the empty scope. Runs of spaces are tolerated because
 * clients do send them; any other character outside the grammar is refused.
 */
export function parseScope(scope: string): string[] {
  const tokens = new Set<string>();
  for (const token of scope.split(' ')) {
    if (token === '') continue;
    if (!SCOPE_TOKEN.test(token)) {
      throw new ScopeError(
        `scope ${JSON.stringify(token)} has a character outside the RFC 6749 scope-token grammar`,
        token,
      );
    }
    tokens.add(token);
  }
  return [...tokens];
}

/** Formats scope tokens as the space-delimited string of the wire, without duplicates. */
export function formatScope(tokens: Iterable<string>): string {
  const distinct = new Set<string>();
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token)) {
      throw new ScopeError(`scope ${JSON.stringify(token)} is not an RFC 6749 scope-token`, token);
    }
    distinct.add(token);
  }
  return [...distinct].join(' ');
}

/** Whether every token of `subset` is in `superset`. */
export function isSubset(subset: Iterable<string>, superset: Iterable<string>): boolean {
  const has = superset instanceof Set ? (superset as Set<string>) : new Set(superset);
  for (const token of subset) if (!has.has(token)) return false;
  return true;
}

/** The tokens of `a` that are also in `b`, in the order of `a`: narrowing a request to what is allowed. */
export function intersectScopes(a: Iterable<string>, b: Iterable<string>): string[] {
  const has = b instanceof Set ? (b as Set<string>) : new Set(b);
  return [...new Set(a)].filter((token) => has.has(token));
}

/** The tokens of `a` that are not in `b`, in the order of `a`. */
export function differenceOfScopes(a: Iterable<string>, b: Iterable<string>): string[] {
  const has = b instanceof Set ? (b as Set<string>) : new Set(b);
  return [...new Set(a)].filter((token) => !has.has(token));
}

/** The distinct tokens of both, `a`'s first. */
export function unionOfScopes(a: Iterable<string>, b: Iterable<string>): string[] {
  return [...new Set([...a, ...b])];
}

/** Whether both hold the same tokens, whatever their order and repetitions. */
export function sameScopes(a: Iterable<string>, b: Iterable<string>): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && isSubset(left, right);
}
