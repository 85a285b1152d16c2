import type { ScopeRegistry } from '@portcullis/scopes';
import { UnknownScopeError } from './errors.js';
import type { DeclaredScope, ScopedRoute } from './types.js';

/**
 * Every scope a `requireScope` asked for, and the routes it guards: what `scopes:sync` writes.
 *
 * A scope the registry does not define is held by no token, so a guard naming one (a typo, most
 * often) would refuse every request. Scopes may still be defined after their guards are made;
 * once the server is ready (`check()`, from `onReady`) every declared scope must be defined, and
 * a scope declared after that (an auto guard added with `addHook`, on its route's first request)
 * is checked as it is declared.
 */
export class ScopeDeclarations {
  readonly #registry: ScopeRegistry;
  readonly #routes = new Map<string, ScopedRoute[]>();
  #checked = false;

  constructor(registry: ScopeRegistry) {
    this.#registry = registry;
  }

  declare(scopes: readonly string[], routes: readonly ScopedRoute[] = []): void {
    for (const scope of scopes) {
      let known = this.#routes.get(scope);
      if (known === undefined) this.#routes.set(scope, (known = []));
      for (const route of routes) {
        if (!known.some((other) => other.method === route.method && other.url === route.url)) known.push(route);
      }
    }
    if (this.#checked) this.#assertDefined(scopes);
  }

  /** Throws `FST_PORTCULLIS_UNKNOWN_SCOPE` naming every declared scope the registry lacks; later declarations are checked at once. */
  check(): void {
    this.#assertDefined([...this.#routes.keys()]);
    this.#checked = true;
  }

  #assertDefined(scopes: readonly string[]): void {
    const unknown = scopes.filter((scope) => !this.#registry.has(scope));
    if (unknown.length === 0) return;
    const named = unknown
      .map((scope) => {
        const routes = this.#routes.get(scope) ?? [];
        return routes.length === 0 ? `"${scope}"` : `"${scope}" (${routes.map((route) => `${route.method} ${route.url}`).join(', ')})`;
      })
      .join(', ');
    const known = this.#registry
      .list()
      .map((scope) => scope.name)
      .join(', ');
    throw new UnknownScopeError(named, known);
  }

  list(): DeclaredScope[] {
    return [...this.#routes.keys()].sort().map((scope) => {
      const info = this.#registry.get(scope);
      return {
        scope,
        description: info?.description ?? null,
        defined: info !== undefined,
        routes: this.#routes.get(scope)!.map((route) => ({ ...route })),
      };
    });
  }
}
