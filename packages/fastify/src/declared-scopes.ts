import type { ScopeRegistry } from '@portcullis/scopes';
import type { DeclaredScope, ScopedRoute } from './types.js';

/** Every scope a `requireScope` asked for, and the routes it guards: what `scopes:sync` writes. */
export class ScopeDeclarations {
  readonly #routes = new Map<string, ScopedRoute[]>();

  declare(scopes: readonly string[], routes: readonly ScopedRoute[] = []): void {
    for (const scope of scopes) {
      let known = this.#routes.get(scope);
      if (known === undefined) this.#routes.set(scope, (known = []));
      for (const route of routes) {
        if (!known.some((other) => other.method === route.method && other.url === route.url)) known.push(route);
      }
    }
  }

  list(registry: ScopeRegistry): DeclaredScope[] {
    return [...this.#routes.keys()].sort().map((scope) => {
      const info = registry.get(scope);
      return {
        scope,
        description: info?.description ?? null,
        defined: info !== undefined,
        routes: this.#routes.get(scope)!.map((route) => ({ ...route })),
      };
    });
  }
}
