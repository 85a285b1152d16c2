import type { OAuthStorage } from './storage/port.js';
import type { ClientRecord } from './storage/records.js';

/** `lastUsedAt` moves at most this often, so issuing tokens does not write the client row each time. */
const LAST_USED_GRANULARITY_MS = 3_600_000;

/**
 * Records that a client obtained tokens, from any protocol (the OAuth 2 token endpoint, tokens
 * issued by hand, the OAuth 1.0a token credentials exchange):
 *
 * - a dynamic registration is kept from then on (the purge removes only unused ones);
 * - a client described by a metadata document gets a stored record the first time, so an
 *   administrator can list and disable it; two first uses at once are both served: the one whose
 *   create fails on the taken id updates the record the other created;
 * - `lastUsedAt` moves at most once an hour.
 *
 * Runs after the tokens are saved; a failure here must not withhold tokens already issued, so it
 * is ignored (a pending registration then stays pending, a document client unrecorded until its
 * next use).
 */
export async function recordClientUse(storage: OAuthStorage, client: Readonly<ClientRecord>, now: Date): Promise<void> {
  const last = client.lastUsedAt ?? null;
  if (client.unusedExpiresAt == null && last !== null && now.getTime() - last.getTime() < LAST_USED_GRANULARITY_MS) return;
  try {
    if (client.origin !== 'document') {
      await storage.updateClient(client.id, { lastUsedAt: now, unusedExpiresAt: null });
      return;
    }
    if (last === null) {
      try {
        await storage.createClient(documentClientRecord(client, now));
        return;
      } catch {
        // The id is taken: another first use created the record, or it was stored before. The
        // update below finds it; if it finds nothing, the create failed for another reason.
      }
    }
    // The document may have changed since: the listing shows what it says now. `disabled` is the
    // administrator's and is never written here.
    await storage.updateClient(client.id, {
      name: client.name,
      redirectUris: [...client.redirectUris],
      scopes: [...client.scopes],
      grantTypes: [...client.grantTypes],
      responseTypes: [...client.responseTypes],
      lastUsedAt: now,
    });
  } catch {
    // See above: the tokens are out already.
  }
}

/**
 * The record of a document client as first stored: the client `findClient` made of its document
 * (which alone says what a document client may be), enabled, created and used now, and with none
 * of a dynamic registration's fields.
 */
function documentClientRecord(client: Readonly<ClientRecord>, now: Date): ClientRecord {
  return {
    ...client,
    disabled: false,
    createdAt: now,
    updatedAt: now,
    registrationTokenDigest: null,
    metadata: null,
    unusedExpiresAt: null,
    lastUsedAt: now,
  };
}
