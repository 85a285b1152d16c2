import { invalidRequest } from '../errors.js';

/**
 * The parameters of one request, each at most once (RFC 6749 section 3.1: "Request and response
 * parameters MUST NOT be included more than once"). An empty value counts as absent, as the RFC
 * says for parameters sent without a value.
 */
export class RequestParameters {
  // A parameter sent once is kept as its string, without a one-element array: the token,
  // revocation and introspection endpoints build these on every request.
  readonly #values: ReadonlyMap<string, string | readonly string[]>;

  private constructor(values: ReadonlyMap<string, string | readonly string[]>) {
    this.#values = values;
  }

  static fromSearchParams(params: URLSearchParams): RequestParameters {
    const values = new Map<string, string[]>();
    for (const [name, value] of params) {
      const list = values.get(name);
      if (list) list.push(value);
      else values.set(name, [value]);
    }
    return new RequestParameters(values);
  }

  static fromBody(body: Record<string, string | string[]>): RequestParameters {
    const values = new Map<string, string | readonly string[]>();
    for (const name of Object.keys(body)) {
      const value = body[name]!;
      values.set(name, typeof value === 'string' ? value : value.map(String));
    }
    return new RequestParameters(values);
  }

  /** The names of the parameters sent more than once, but for those `repeatable` names. */
  repeated(repeatable: readonly string[] = []): string[] {
    const names: string[] = [];
    for (const [name, value] of this.#values) {
      if (typeof value !== 'string' && value.length > 1 && !repeatable.includes(name)) names.push(name);
    }
    return names;
  }

  /**
   * Throws invalid_request when any parameter is repeated, but for those `repeatable` names
   * (RFC 8707 section 2: `resource` may be sent more than once).
   */
  assertNoRepeats(repeatable: readonly string[] = []): void {
    const names = this.repeated(repeatable);
    if (names.length > 0) throw invalidRequest(`The ${names.join(', ')} parameter must not be repeated.`);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** The value, or undefined when absent or empty. Throws invalid_request when repeated. */
  get(name: string): string | undefined {
    const entry = this.#values.get(name);
    if (entry === undefined) return undefined;
    let value: string | undefined;
    if (typeof entry === 'string') value = entry;
    else {
      if (entry.length === 0) return undefined;
      if (entry.length > 1) throw invalidRequest(`The ${name} parameter must not be repeated.`);
      value = entry[0];
    }
    return value === '' ? undefined : value;
  }

  /** Every value sent for a repeatable parameter, empty ones left out. */
  getAll(name: string): string[] {
    const entry = this.#values.get(name);
    if (entry === undefined) return [];
    return (typeof entry === 'string' ? [entry] : [...entry]).filter((value) => value !== '');
  }

  /** The value; throws invalid_request when missing. */
  require(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw invalidRequest(`The ${name} parameter is required.`);
    return value;
  }
}
