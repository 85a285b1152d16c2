import { invalidTarget, invalidToken } from '../errors.js';
import type { ClientRecord } from '../storage/records.js';
import type { ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';
import { isUriText } from './redirect-uri.js';

/**
 * Whether `value` is a resource indicator as RFC 8707 section 2 defines it: an absolute URI
 * without a fragment, written in URI characters.
 */
export function isResourceIndicator(value: unknown): value is string {
  if (typeof value !== 'string' || value === '' || value.includes('#') || !isUriText(value)) return false;
  return URL.canParse(value);
}

/**
 * The `resource` parameters of a request (RFC 8707 section 2: the one parameter that may repeat),
 * each an absolute URI without a fragment, else invalid_target. Repeats of one value count once.
 */
export function readResourceParameters(params: RequestParameters): string[] {
  const values = params.getAll('resource');
  for (const value of values) {
    if (!isResourceIndicator(value)) {
      throw invalidTarget('A resource must be an absolute URI without a fragment (RFC 8707 section 2).');
    }
  }
  return [...new Set(values)];
}

/** Whether the client may get tokens for `resource`: the server knows it and the client is not limited to others. */
function mayUseResource(context: ServerContext, client: ClientRecord, resource: string): boolean {
  return context.resources.has(resource) && (client.resources === null || client.resources.includes(resource));
}

/**
 * The audience of a new grant: the requested resources, each known to the server and open to the
 * client, else invalid_target (RFC 8707 section 2); with none requested, `defaultAudience`, less
 * what the client is limited away from.
 */
export function resolveAudience(context: ServerContext, client: ClientRecord, requested: readonly string[]): string[] {
  if (requested.length === 0) {
    return context.options.defaultAudience.filter((resource) => mayUseResource(context, client, resource));
  }
  for (const resource of requested) {
    if (!mayUseResource(context, client, resource)) {
      throw invalidTarget('The resource is unknown to this server or not open to the client.');
    }
  }
  return [...requested];
}

/**
 * The audience of an access token bought with a grant of audience `granted` (a code, a refresh
 * token): the requested resources when each was granted, since a token may be narrowed and never
 * widened (RFC 8707 section 2.2), else invalid_target; all of `granted` when none is requested.
 * Every requested resource must also still be open to the client.
 */
export function narrowAudience(
  context: ServerContext,
  client: ClientRecord,
  granted: readonly string[],
  requested: readonly string[],
): string[] {
  if (requested.length === 0) return [...granted];
  for (const resource of requested) {
    if (!granted.includes(resource) || !mayUseResource(context, client, resource)) {
      throw invalidTarget('The resource was not granted to this authorization; a token can be narrowed to fewer resources, never widened.');
    }
  }
  return [...requested];
}

/**
 * Whether a token of `audience` opens resource `resource`. A resource server named by an
 * identifier accepts only tokens issued for it: a token for another API must not open this one
 * (RFC 8707 section 1, RFC 9700 section 2.3).
 */
export function isAudienceOf(audience: readonly string[], resource: string): boolean {
  return audience.includes(resource);
}

/** The invalid_token refusal of a token that is not for `resource`, without a challenge (the caller adds its own). */
export function otherAudienceError() {
  return invalidToken('The access token was not issued for this resource.');
}
