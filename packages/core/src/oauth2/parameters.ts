import { invalidRequest } from '../errors.js';

/**
 * The parameters of one request, each at most once (RFC 6749 section 3.1: "Request and response
 * parameters MUST NOT be included more than once"). An empty value counts as absent, as the RFC
 * says for parameters sent without a value.
 */
export class RequestParameters {
  readonly #values: ReadonlyMap<string, readonly string[]>;

  private constructor(values: ReadonlyMap<string, readonly string[]>) {
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
    const values = new Map<string, readonly string[]>();
    for (const [name, value] of Object.entries(body)) {
      values.set(name, typeof value === 'string' ? [value] : value.map(String));
    }
    return new RequestParameters(values);
  }

  /** The names of the parameters sent more than once. */
  repeated(): string[] {
    const names: string[] = [];
    for (const [name, list] of this.#values) if (list.length > 1) names.push(name);
    return names;
  }

  /** Throws invalid_request when any parameter is repeated. */
  assertNoRepeats(): void {
    const names = this.repeated();
    if (names.length > 0) throw invalidRequest(`The ${names.join(', ')} parameter must not be repeated.`);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** The value, or undefined when absent or empty. Throws invalid_request when repeated. */
  get(name: string): string | undefined {
    const list = this.#values.get(name);
    if (list === undefined || list.length === 0) return undefined;
    if (list.length > 1) throw invalidRequest(`The ${name} parameter must not be repeated.`);
    const value = list[0];
    return value === '' ? undefined : value;
  }

  /** The value; throws invalid_request when missing. */
  require(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw invalidRequest(`The ${name} parameter is required.`);
    return value;
  }
}
