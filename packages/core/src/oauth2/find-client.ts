import type { OAuthError } from '../errors.js';
import type { ClientRecord } from '../storage/records.js';
import { ClientMetadataRefusal, ClientMetadataResolver } from './client-metadata-document.js';
import type { ServerContext } from './options.js';

/**
 * The client a request names: from its metadata document when documents are enabled and the id
 * is a URL, from storage otherwise. A document that cannot be used becomes the error `refuse`
 * makes of the reason (an error page at the authorization endpoint, invalid_client at the token
 * endpoint); a client found by neither is null.
 */
export async function findClient(
  context: ServerContext,
  clientId: string,
  refuse: (reason: string) => OAuthError,
): Promise<Readonly<ClientRecord> | null> {
  if (context.clientMetadata === null || !ClientMetadataResolver.isDocumentUrl(clientId)) {
    return context.options.storage.findClient(clientId);
  }
  try {
    return await context.clientMetadata.resolve(clientId);
  } catch (thrown) {
    if (thrown instanceof ClientMetadataRefusal) throw refuse(`The client metadata document could not be used: ${thrown.message}.`);
    throw thrown;
  }
}
