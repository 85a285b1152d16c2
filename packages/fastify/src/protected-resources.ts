import { isResourceIndicator } from '@portcullis/core';
import { InvalidResourceError } from './errors.js';

/** The optional RFC 9728 section 2 fields a protected resource's metadata may carry. */
export interface ResourceMetadataOptions {
  /** `resource_name`: a name for people, e.g. "Polls API". */
  name?: string;
  /** `resource_documentation`: a page for developers. */
  documentation?: string;
  /** `resource_policy_uri`: how the data is used. */
  policyUri?: string;
  /** `resource_tos_uri`: the terms of service. */
  tosUri?: string;
}

const OPTIONAL_FIELDS = {
  name: 'resource_name',
  documentation: 'resource_documentation',
  policyUri: 'resource_policy_uri',
  tosUri: 'resource_tos_uri',
} as const satisfies Record<keyof ResourceMetadataOptions, string>;

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

interface ProtectedResource {
  resource: string;
  /** The absolute URL of its metadata document (RFC 9728 section 3.1). */
  metadataUrl: string;
  scopes: Set<string>;
}

/**
 * The resources this application's guards protect, each with the scopes its guards ask for, and
 * their RFC 9728 metadata documents. Resources join as guards name them, before the server is
 * ready; the documents are read on each request, so they list every guard added.
 */
export class ProtectedResources {
  readonly #byPath = new Map<string, ProtectedResource>();
  readonly #byResource = new Map<string, ProtectedResource>();
  readonly #issuer: string;
  readonly #bearerMethods: readonly string[];
  readonly #fields: Readonly<Record<string, ResourceMetadataOptions>>;

  constructor(issuer: string, bearerMethods: readonly string[], fields: Readonly<Record<string, ResourceMetadataOptions>>) {
    this.#issuer = issuer;
    this.#bearerMethods = bearerMethods;
    this.#fields = fields;
  }

  /**
   * Adds a resource (once) and returns the URL of its metadata. Its metadata path is the
   * well-known prefix followed by the identifier's path, its trailing slash removed (RFC 9728
   * section 3.1); two identifiers sharing that path (on two hosts) cannot both be served here.
   */
  add(resource: unknown): string {
    if (typeof resource === 'string') {
      const known = this.#byResource.get(resource);
      if (known !== undefined) return known.metadataUrl;
    }
    if (!isResourceIndicator(resource)) throw new InvalidResourceError(JSON.stringify(resource), 'must be an absolute URI without a fragment');
    const url = new URL(resource);
    // RFC 9728 section 3.1 builds the metadata URL from the path; a query would be lost on the way.
    if (url.search !== '' || resource.includes('?')) throw new InvalidResourceError(JSON.stringify(resource), 'must have no query');
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidResourceError(JSON.stringify(resource), 'must be an http(s) URL');
    // Fastify's router reads `:` and `*` in a path as parameters.
    if (/[:*]/.test(url.pathname)) throw new InvalidResourceError(JSON.stringify(resource), 'must have no ":" or "*" in its path');
    const path = `${WELL_KNOWN}${url.pathname.replace(/\/+$/, '')}`;
    const other = this.#byPath.get(path);
    if (other !== undefined) {
      throw new InvalidResourceError(JSON.stringify(resource), `has the same metadata path as ${JSON.stringify(other.resource)}`);
    }
    const entry: ProtectedResource = { resource, metadataUrl: `${url.origin}${path}`, scopes: new Set() };
    this.#byPath.set(path, entry);
    this.#byResource.set(resource, entry);
    return entry.metadataUrl;
  }

  /** Records that a guard of `resource` asks for `scopes`, for `scopes_supported`. */
  declare(resource: string, scopes: readonly string[]): void {
    const entry = this.#byResource.get(resource);
    if (entry !== undefined) for (const scope of scopes) entry.scopes.add(scope);
  }

  /** The URL of the metadata of `resource`, or null when no guard protects it. */
  metadataUrl(resource: string): string | null {
    return this.#byResource.get(resource)?.metadataUrl ?? null;
  }

  /** The resource identifiers, in the order they were added. */
  list(): string[] {
    return [...this.#byResource.keys()];
  }

  /** The RFC 9728 section 2 document served at `path`, or null when no resource has that path. */
  document(path: string): Record<string, unknown> | null {
    const entry = this.#byPath.get(path.replace(/\/+$/, ''));
    if (entry === undefined) return null;
    const document: Record<string, unknown> = {
      resource: entry.resource,
      authorization_servers: [this.#issuer],
      scopes_supported: [...entry.scopes].sort(),
      bearer_methods_supported: [...this.#bearerMethods],
    };
    const fields = this.#fields[entry.resource];
    if (fields !== undefined) {
      for (const [option, wire] of Object.entries(OPTIONAL_FIELDS)) {
        const value = fields[option as keyof ResourceMetadataOptions];
        if (value !== undefined) document[wire] = value;
      }
    }
    return document;
  }
}

/** The well-known prefix, for the routes that serve the documents. */
export const PROTECTED_RESOURCE_WELL_KNOWN = WELL_KNOWN;
