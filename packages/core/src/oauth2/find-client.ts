import type { OAuthError } from '../errors.js';
import type { ClientRecord } from '../storage/records.js';
import { ClientMetadataRefusal, ClientMetadataResolver } from './client-metadata-document.js';
import type { ServerContext } from './options.js';

/**
 * The client a request names: from its metadata document when documents are enabled and the id
 * is a URL, from storage otherwise. A document that cannot be used becomes the error `refuse`
 * makes of the reason (an error page at the authorization endpoint, invalid_client at the token
 * endpoint); a client found by neither is null.
 *
 * A document client's stored record (see `recordClientUse`) adds the administrator's state to
 * what the document says: a disabled one is returned as stored, without a fetch, for the caller to
 * refuse however long its document stays cached. Its metadata are never taken from storage, so a
 * stored document record names no client when documents are off. A client an administrator
 * stored under a URL id stays that client.
 */
export async function findClient(
  context: ServerContext,
  clientId: string,
  refuse: (reason: string) => OAuthError,
): Promise<Readonly<ClientRecord> | null> {
  const { storage } = context.options;
  if (context.clientMetadata === null || !ClientMetadataResolver.isDocumentUrl(clientId)) {
    const client = await storage.findClient(clientId);
    return client === null || client.origin === 'document' ? null : client;
  }
  const stored = await storage.findClient(clientId);
  // An administrator who registered the URL as an ordinary client id decided what it names.
  if (stored !== null && (stored.origin !== 'document' || stored.disabled)) return stored;
  let described: ClientRecord;
  try {
    described = await context.clientMetadata.resolve(clientId);
  } catch (thrown) {
    if (thrown instanceof ClientMetadataRefusal) throw refuse(`The client metadata document could not be used: ${thrown.message}.`);
    throw thrown;
  }
  return {
    ...described,
    origin: 'document',
    createdAt: stored?.createdAt ?? described.createdAt,
    lastUsedAt: stored?.lastUsedAt ?? null,
  };
}
