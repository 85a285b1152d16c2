import { ScopeError } from './scope-error.js';
import { isScopeToken, parseScope } from './scope-string.js';

/** A set of scopes as bits. A bigint, so a registry is not capped at 31 scopes. */
export type ScopeMask = bigint;

/** Anything that names scopes: a mask, a seed-style integer, a scope string, or a list of names. */
export type ScopeLike = ScopeMask | number | string | Iterable<string>;

export interface ScopeDefinition {
  name: string;
  /** Bit position (0 to 1023). Left out, the registry takes the lowest free bit from 1 up. */
  bit?: number;
  /** Scopes this one grants as well, as `write` grants `read`. They must be defined first. */
  includes?: readonly string[];
  /** Words shown to a user on a consent page. */
  description?: string;
}

export interface ScopeInfo {
  name: string;
  bit: number;
  /** The scope's own bit with the masks of everything it includes. */
  mask: ScopeMask;
  includes: readonly string[];
  description: string | undefined;
}

export interface ToIntOptions {
  /** Seed semantics: the value the names are OR-ed onto, so unknown names alone give it back. */
  default?: number;
}

const MAX_BIT = 1023;

/**
 * One registry for both scope models: every scope, bitmask-style (`read`, `write`) or
 * string-style (`polls:vote`), gets a bit, so checking a grant is one mask test however the
 * scopes were written. Implications (`write` includes `read`) are folded into the masks.
 */
export class ScopeRegistry {
  readonly #byName = new Map<string, ScopeInfo>();
  #usedBits: ScopeMask = 0n;

  constructor(definitions: Iterable<ScopeDefinition | string> = []) {
    for (const definition of definitions) this.define(definition);
  }

  /** Adds a scope. Redefining a name or reusing a bit is an error, since masks already handed out would change meaning. */
  define(definition: ScopeDefinition | string): this {
    const { name, bit: requestedBit, includes = [], description } =
      typeof definition === 'string' ? { name: definition } as ScopeDefinition : definition;
    if (!isScopeToken(name)) {
      throw new ScopeError(`scope name ${JSON.stringify(name)} is not an RFC 6749 scope-token`, name);
    }
    if (this.#byName.has(name)) throw new ScopeError(`scope ${JSON.stringify(name)} is already defined`, name);
    const bit = requestedBit ?? this.#lowestFreeBit();
    if (!Number.isInteger(bit) || bit < 0 || bit > MAX_BIT) {
      throw new ScopeError(`scope ${JSON.stringify(name)} has bit ${bit}; bits run from 0 to ${MAX_BIT}`, name);
    }
    const own = 1n << BigInt(bit);
    if (this.#usedBits & own) throw new ScopeError(`bit ${bit} of scope ${JSON.stringify(name)} is already taken`, name);
    let mask = own;
    for (const included of includes) {
      const info = this.#byName.get(included);
      if (!info) {
        throw new ScopeError(`scope ${JSON.stringify(name)} includes ${JSON.stringify(included)}, which is not defined yet`, included);
      }
      mask |= info.mask;
    }
    this.#usedBits |= own;
    this.#byName.set(name, Object.freeze({ name, bit, mask, includes: Object.freeze([...includes]), description }));
    return this;
  }

  /** Whether the scope is defined. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The scope's definition, or undefined. */
  get(name: string): ScopeInfo | undefined {
    return this.#byName.get(name);
  }

  /** Every scope, in the order of definition. */
  list(): ScopeInfo[] {
    return [...this.#byName.values()];
  }

  /**
   * The mask of the given scopes, implications included. Unknown names are an error here:
   * this is the strict path the server uses for requested scopes.
   */
  maskOf(scope: ScopeLike): ScopeMask {
    if (typeof scope === 'bigint') return scope;
    if (typeof scope === 'number') return toMask(scope);
    const names = typeof scope === 'string' ? parseScope(scope) : scope;
    let mask = 0n;
    for (const name of names) {
      const info = this.#byName.get(name);
      if (!info) throw new ScopeError(`unknown scope ${JSON.stringify(name)}`, name);
      mask |= info.mask;
    }
    return mask;
  }

  /**
   * Seed-compatible `to_int`: OR-s the masks of the named scopes onto `options.default` (0 if
   * left out), ignoring unknown names. `toInt('write')` is 6; `toInt('invalid', { default: 1 })` is 1.
   */
  toInt(...args: (string | ToIntOptions)[]): number {
    let mask = 0n;
    for (const arg of args) {
      if (typeof arg === 'string') {
        mask |= this.#byName.get(arg)?.mask ?? 0n;
      } else if (arg.default !== undefined) {
        mask |= toMask(arg.default);
      }
    }
    if (mask > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new RangeError('the mask does not fit in a number; use maskOf() for bigint masks');
    }
    return Number(mask);
  }

  /** The names of every scope the mask grants whole, in the order of definition. */
  names(scope: ScopeLike): string[] {
    const mask = this.maskOf(scope);
    const names: string[] = [];
    for (const info of this.#byName.values()) if ((info.mask & mask) === info.mask) names.push(info.name);
    return names;
  }

  /** Whether `has` grants everything `wants` asks for. */
  check(wants: ScopeLike, has: ScopeLike): boolean {
    const wanted = this.maskOf(wants);
    return (wanted & this.maskOf(has)) === wanted;
  }

  /**
   * Parses a requested scope string, checking the grammar and that every name is defined.
   * Returns the distinct names as the client wrote them.
   */
  parse(scope: string): string[] {
    const names = parseScope(scope);
    for (const name of names) {
      if (!this.#byName.has(name)) throw new ScopeError(`unknown scope ${JSON.stringify(name)}`, name);
    }
    return names;
  }

  #lowestFreeBit(): number {
    for (let bit = 1; bit <= MAX_BIT; bit++) if (!(this.#usedBits & (1n << BigInt(bit)))) return bit;
    throw new ScopeError('every bit of the registry is taken', '');
  }
}

function toMask(value: number): ScopeMask {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`scope mask ${value} is not a non-negative integer`);
  return BigInt(value);
}
