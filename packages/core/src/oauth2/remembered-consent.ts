import { invalidClient, OAuthError } from '../errors.js';
import type { AuthorizationRequest, ConsentReview } from '../server-types.js';
import type { ClientRecord } from '../storage/records.js';
import { isClientUnusable } from './client-registration.js';
import { findClient } from './find-client.js';
import type { ServerContext } from './options.js';
import { resolveAudience } from './resource-indicators.js';

/**
 * Whether the user must be asked about `request`: not for a first-party client (`skipConsent`,
 * which only an administrator sets), nor when a remembered consent covers every scope and every
 * resource the request asks for; always when the request says `prompt=consent` (OpenID Connect
 * Core section 3.1.2.1). Anything doubtful (the client gone, its resources changed) asks: the
 * decision then meets `completeAuthorization`'s checks.
 */
export async function reviewConsent(context: ServerContext, request: AuthorizationRequest, userId: string): Promise<ConsentReview> {
  let client: Readonly<ClientRecord> | null;
  try {
    client = await findClient(context, request.clientId, (reason) => invalidClient(reason, { status: 400 }));
  } catch (thrown) {
    if (thrown instanceof OAuthError) return { required: true, grantedScope: [] };
    throw thrown;
  }
  if (client === null || isClientUnusable(client, context.now())) return { required: true, grantedScope: [] };
  const consent = await context.options.storage.findConsent({ clientId: client.id, userId });
  const granted = new Set(consent?.scope ?? []);
  const grantedScope = request.scope.filter((name) => granted.has(name));
  const asked = Array.isArray(request.prompt) && request.prompt.includes('consent');
  if (asked) return { required: true, grantedScope };
  if (client.skipConsent === true) return { required: false, grantedScope };
  if (consent === null || grantedScope.length !== request.scope.length) return { required: true, grantedScope };
  const audience = audienceOf(context, client, request);
  const approved = new Set(consent.audience);
  return { required: audience === null || !audience.every((resource) => approved.has(resource)), grantedScope };
}

/** The audience the request's tokens would get, or null when it can no longer be resolved. */
function audienceOf(context: ServerContext, client: ClientRecord, request: AuthorizationRequest): string[] | null {
  try {
    return resolveAudience(context, client, request.resource);
  } catch {
    return null;
  }
}

/**
 * Remembers an approval: the union of what the user approved before and now, so that a later
 * request asking for no more skips the page. Written only when it widens what was remembered.
 * A first-party client's approvals are not remembered: most never reached the user, and were the
 * client to lose `skipConsent`, its users must be asked about what it holds. Returns whether the
 * user had approved all of it before (a remembered consent covered it).
 */
export async function rememberConsent(
  context: ServerContext,
  client: Readonly<ClientRecord>,
  grant: { userId: string; scope: readonly string[]; audience: readonly string[] },
  now: Date,
): Promise<boolean> {
  if (client.skipConsent === true) return false;
  const { storage } = context.options;
  const key = { clientId: client.id, userId: grant.userId };
  const previous = await storage.findConsent(key);
  const scope = union(previous?.scope ?? [], grant.scope);
  const audience = union(previous?.audience ?? [], grant.audience);
  if (previous !== null && scope.length === previous.scope.length && audience.length === previous.audience.length) return true;
  await storage.saveConsent({ ...key, scope, audience, createdAt: previous?.createdAt ?? now, updatedAt: now });
  return false;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}
