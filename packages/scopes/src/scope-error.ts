/**
 * Thrown for a scope string or scope name that cannot be used. The core turns it into the
 * RFC 6749 `invalid_scope` error; here it stays free of any protocol concerns.
 */
export class ScopeError extends Error {
  override name = 'ScopeError';
  readonly scope: string;

  constructor(message: string, scope: string) {
    super(message);
    this.scope = scope;
  }
}
