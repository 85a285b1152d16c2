import { ScopeError, type ScopeMask, type ScopeRegistry } from '@portcullis/scopes';
import { invalidScope } from '../errors.js';
import type { ClientRecord } from '../storage/records.js';
import type { ServerContext } from './options.js';

/**
 * The mask of the names the registry knows, ignoring the others: a client or a token may hold
 * a scope that was removed from the registry since, and it must grant nothing.
 */
export function maskOfKnown(scopes: ScopeRegistry, names: readonly string[]): ScopeMask {
  let mask = 0n;
  for (const name of names) {
    const info = scopes.get(name);
    if (info) mask |= info.mask;
  }
  return mask;
}

/** Whether `has` grants every name of `wants` (implications count: `write` grants `read`). */
export function grantsScope(scopes: ScopeRegistry, wants: readonly string[], has: readonly string[]): boolean {
  const wanted = maskOfKnown(scopes, wants);
  if (wants.some((name) => !scopes.has(name))) return false;
  return (wanted & maskOfKnown(scopes, has)) === wanted;
}

/** Parses a requested scope string against the registry; unknown or malformed names are invalid_scope. */
export function parseRequestedScope(scopes: ScopeRegistry, scope: string): string[] {
  try {
    return scopes.parse(scope);
  } catch (error) {
    if (error instanceof ScopeError) throw invalidScope(`The scope ${JSON.stringify(error.scope)} is unknown or malformed.`);
    throw error;
  }
}

/**
 * The scope a request gets: the requested names, each known and within what the client may
 * have; or, when none is requested, `defaultScopes` (those the client may have) or else the
 * client's own scopes. RFC 6749 section 3.3 lets the server pick a default or fail: it fails
 * with invalid_scope only when nothing is left.
 */
export function resolveRequestedScope(context: ServerContext, client: ClientRecord, requested: string | undefined): string[] {
  const { scopes } = context;
  const names = requested === undefined ? [] : parseRequestedScope(scopes, requested);
  if (names.length > 0) {
    if (!grantsScope(scopes, names, client.scopes)) {
      throw invalidScope('The requested scope exceeds what the client may be granted.');
    }
    return names;
  }
  const defaults = context.options.defaultScopes.length > 0
    ? context.options.defaultScopes.filter((name) => grantsScope(scopes, [name], client.scopes))
    : client.scopes.filter((name) => scopes.has(name));
  if (defaults.length === 0) throw invalidScope('No scope was requested and the client has no default scope.');
  return defaults;
}

/**
 * A narrower scope (a refresh request's `scope`, a user's consent): every name must be granted
 * by the original scope, else invalid_scope.
 */
export function narrowScope(context: ServerContext, original: readonly string[], requested: readonly string[]): string[] {
  if (!grantsScope(context.scopes, requested, original)) {
    throw invalidScope('The requested scope is wider than the one originally granted.');
  }
  return [...new Set(requested)];
}
