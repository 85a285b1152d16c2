import { ScopeRegistry, type ScopeLike, type ToIntOptions } from './scope-registry.js';

// django-oauth2-provider's defaults since its 0.2: write includes read.
export const READ = 1 << 1;
export const WRITE = READ | (1 << 2);
export const READ_WRITE = READ | WRITE;

/** A new registry holding the seed's defaults, `read` (bit 1) and `write` (bit 2, includes `read`), to add an application's scopes to. */
export function createDefaultScopes(): ScopeRegistry {
  return new ScopeRegistry([
    { name: 'read', bit: 1, description: 'Read your data' },
    { name: 'write', bit: 2, includes: ['read'], description: 'Read and change your data' },
  ]);
}

const defaults = createDefaultScopes();

/** `to_int` of the seed over the default registry. */
export function toInt(...args: (string | ToIntOptions)[]): number {
  return defaults.toInt(...args);
}

/** `names` of the seed over the default registry. */
export function names(scope: ScopeLike): string[] {
  return defaults.names(scope);
}

/** `check` of the seed over the default registry. */
export function check(wants: ScopeLike, has: ScopeLike): boolean {
  return defaults.check(wants, has);
}
