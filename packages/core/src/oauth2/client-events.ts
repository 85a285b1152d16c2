import type { ClientChangedEvent } from '../events.js';
import type { ClientRecord } from '../storage/records.js';
import type { ServerContext } from './options.js';

/** Emits `client.<action>` with the client's public facts: no secret, no digest, no sealed key. */
export function emitClientChange(
  context: ServerContext,
  action: 'registered' | 'updated' | 'deleted' | 'disabled',
  via: ClientChangedEvent['via'],
  client: Readonly<ClientRecord>,
): void {
  context.emit({
    type: `client.${action}`,
    via,
    clientId: client.id,
    clientName: client.name,
    clientType: client.type,
    redirectUris: client.redirectUris,
    grantTypes: client.grantTypes,
    scopes: client.scopes,
    softwareId: client.metadata?.softwareId ?? null,
  });
}
