import { channel, type Channel } from 'node:diagnostics_channel';
import type { ClientType, GrantType } from './storage/records.js';

/**
 * What the server tells an operator, one event per action. Every event carries ids, the client,
 * the user, scopes and the outcome; never a token, a code, a secret or a digest, so an event can
 * be logged or shipped anywhere as it is.
 */
export type PortcullisEvent =
  | TokenIssuedEvent
  | TokenRefreshedEvent
  | TokenRevokedEvent
  | TokenRefusedEvent
  | RefreshTokenReplayDetectedEvent
  | AuthorizationCodeReplayDetectedEvent
  | ClientAuthenticationFailedEvent
  | ClientChangedEvent
  | ClientMetadataFetchedEvent
  | ConsentGrantedEvent
  | ConsentDeniedEvent
  | ConsentRevokedEvent
  | DeviceCodeApprovedEvent
  | OAuth1SignatureRefusedEvent;

export type PortcullisEventType = PortcullisEvent['type'];

/** Fields every event has. */
export interface EventBase {
  /** The server's issuer, telling servers apart on the process-wide diagnostics channels. */
  issuer: string;
  /** When it happened, by the server's clock. */
  time: Date;
}

/**
 * How tokens were obtained: a grant type of RFC 6749 (or an extension grant's URI), or `manual`
 * for `issueTokens`, an administrator issuing them by hand.
 */
export type IssuanceGrantType = Exclude<GrantType, 'refresh_token'> | 'manual' | (string & {});

/** New tokens of a grant: a new family, or a code's redemption. */
export interface TokenIssuedEvent extends EventBase {
  type: 'token.issued';
  grantType: IssuanceGrantType;
  clientId: string;
  /** Null for client credentials. */
  userId: string | null;
  scope: string[];
  /** The resources the access token is for (RFC 8707). */
  audience: string[];
  accessTokenId: string;
  refreshTokenId: string | null;
  /** The grant the tokens belong to; a replay revokes the whole family. */
  familyId: string;
  accessTokenExpiresAt: Date;
}

/** A refresh token rotated (RFC 6749 section 6): it is spent, and new tokens replace it. */
export interface TokenRefreshedEvent extends EventBase {
  type: 'token.refreshed';
  clientId: string;
  userId: string | null;
  scope: string[];
  audience: string[];
  accessTokenId: string;
  refreshTokenId: string;
  /** The refresh token this request spent. */
  previousRefreshTokenId: string;
  familyId: string;
  accessTokenExpiresAt: Date;
}

/**
 * Who revoked: the client at the revocation endpoint (RFC 7009), an administrator, the user
 * (withdrawing a client's access), or the server when a client was disabled.
 */
export type RevokedBy = 'revocation_endpoint' | 'admin' | 'user' | 'client_disabled';

/** Tokens revoked on purpose (a replay has an event of its own). */
export interface TokenRevokedEvent extends EventBase {
  type: 'token.revoked';
  revokedBy: RevokedBy;
  clientId: string;
  /** Null when the tokens were a client's own (client credentials) or every user's. */
  userId: string | null;
  /** The kind of the one token named; null when a whole grant or client was revoked. */
  tokenKind: 'access_token' | 'refresh_token' | null;
  /** The id of the one token named, else null. */
  tokenId: string | null;
  /** The family revoked with a refresh token, else null. */
  familyId: string | null;
  /** How many credentials changed. */
  count: number;
}

/** The token endpoint refused a request with an RFC 6749 section 5.2 error. */
export interface TokenRefusedEvent extends EventBase {
  type: 'token.refused';
  /** The `grant_type` parameter as sent (null when absent). */
  grantType: string | null;
  /** The authenticated client, null when the refusal came before or at authentication. */
  clientId: string | null;
  /** The `error` code sent, e.g. `invalid_grant`. */
  error: string;
  status: number;
}

/**
 * A spent refresh token presented again, or a lost race for it: two parties hold it, and its
 * whole family was revoked (RFC 9700 section 4.14.2).
 */
export interface RefreshTokenReplayDetectedEvent extends EventBase {
  type: 'refresh_token.replay_detected';
  clientId: string;
  userId: string | null;
  refreshTokenId: string;
  familyId: string;
  /** How many tokens the family's revocation changed. */
  revokedCount: number;
}

/** A spent authorization code presented again; what it bought was revoked (RFC 6749 section 4.1.2). */
export interface AuthorizationCodeReplayDetectedEvent extends EventBase {
  type: 'authorization_code.replay_detected';
  clientId: string;
  userId: string;
  codeId: string;
  familyId: string;
  revokedCount: number;
}

/** Why client authentication failed; the client is told only invalid_client. */
export type ClientAuthenticationFailure =
  /** The request named no client. */
  | 'credentials_missing'
  /** The Basic header or the client_secret parameter could not be read. */
  | 'credentials_malformed'
  | 'unknown_client'
  /** Disabled, or a dynamic registration expired for want of use. */
  | 'client_disabled'
  | 'invalid_secret'
  /** A confidential client named itself without its secret. */
  | 'secret_required'
  /** The client's metadata document could not be used. */
  | 'metadata_document_refused';

export interface ClientAuthenticationFailedEvent extends EventBase {
  type: 'client.authentication_failed';
  /** The client id presented, null when none could be read. */
  clientId: string | null;
  /** The method tried (RFC 7591 names), null when none could be read. */
  method: 'client_secret_basic' | 'client_secret_post' | 'none' | null;
  reason: ClientAuthenticationFailure;
}

/** A client registered, changed, deleted or disabled; its public facts, never its secret. */
export interface ClientChangedEvent extends EventBase {
  type: 'client.registered' | 'client.updated' | 'client.deleted' | 'client.disabled';
  /** Through dynamic registration (RFC 7591, RFC 7592) or the server's API (an administrator). */
  via: 'registration_endpoint' | 'admin';
  clientId: string;
  clientName: string;
  clientType: ClientType;
  redirectUris: string[];
  grantTypes: GrantType[];
  scopes: string[];
  softwareId: string | null;
}

/** One fetch of a client ID metadata document, accepted or refused. */
export interface ClientMetadataFetchedEvent extends EventBase {
  type: 'client_metadata.fetched';
  clientId: string;
  host: string;
  /** The address connected to (or refused), when resolution got that far. */
  address: string | null;
  status: number | null;
  outcome: 'accepted' | 'refused';
  reason: string | null;
}

/** The user approved an authorization request. */
export interface ConsentGrantedEvent extends EventBase {
  type: 'consent.granted';
  clientId: string;
  userId: string;
  scope: string[];
  /** The resources (RFC 8707) the grant is for. */
  audience: string[];
  /** True when a remembered consent answered without asking the user. */
  remembered: boolean;
}

/** The user refused an authorization request. */
export interface ConsentDeniedEvent extends EventBase {
  type: 'consent.denied';
  clientId: string;
  userId: string;
  scope: string[];
}

/** A remembered consent withdrawn. */
export interface ConsentRevokedEvent extends EventBase {
  type: 'consent.revoked';
  clientId: string;
  userId: string;
  revokedBy: 'user' | 'admin';
}

/** The user approved a device authorization request (RFC 8628 section 3.3). */
export interface DeviceCodeApprovedEvent extends EventBase {
  type: 'device_code.approved';
  clientId: string;
  userId: string;
  scope: string[];
  /** The id of the device authorization's record, never its device code or user code. */
  deviceCodeId: string;
}

/** An OAuth 1.0a request whose signature was refused, or a signed request replayed (RFC 5849 section 3.3). */
export interface OAuth1SignatureRefusedEvent extends EventBase {
  type: 'oauth1.signature_refused';
  /** The consumer key. */
  clientId: string;
  signatureMethod: string;
  reason: 'signature_invalid' | 'nonce_used';
  /** The request's path. */
  path: string;
}

/** Receives every event of one server; a throw or a rejection is caught and ignored. */
export type EventListener = (event: PortcullisEvent) => void | Promise<void>;

/** An event as code emits it: the server adds `issuer` and `time`. */
export type EventInput = PortcullisEvent extends infer E ? (E extends PortcullisEvent ? Omit<E, keyof EventBase> : never) : never;

/** Emits one event to the server's listener and its diagnostics channel. */
export type EmitEvent = (event: EventInput) => void;

/** Every event type; each is published on the channel `portcullis:<type>`. */
export const EVENT_TYPES = [
  'token.issued',
  'token.refreshed',
  'token.revoked',
  'token.refused',
  'refresh_token.replay_detected',
  'authorization_code.replay_detected',
  'client.authentication_failed',
  'client.registered',
  'client.updated',
  'client.deleted',
  'client.disabled',
  'client_metadata.fetched',
  'consent.granted',
  'consent.denied',
  'consent.revoked',
  'device_code.approved',
  'oauth1.signature_refused',
] as const satisfies readonly PortcullisEventType[];

// Fails to compile when a type of the union is missing from EVENT_TYPES.
type Missing = Exclude<PortcullisEventType, (typeof EVENT_TYPES)[number]>;
const everyTypeListed: Missing extends never ? true : never = true;
void everyTypeListed;

/** The name of the `node:diagnostics_channel` channel an event type is published on. */
export function eventChannelName(type: PortcullisEventType): `portcullis:${PortcullisEventType}` {
  return `portcullis:${type}`;
}

// Created once, at the top level, as Node's documentation asks of a module's channels.
const CHANNELS: ReadonlyMap<string, Channel> = new Map(EVENT_TYPES.map((type) => [type, channel(eventChannelName(type))]));

/**
 * The emitter of one server: stamps each event with the issuer and the clock, freezes it, and
 * hands the same object to the channel's subscribers and to `listener`. Nothing is built when
 * nobody listens. A listener that throws or rejects is ignored: observing the server never
 * changes its answer. (A channel subscriber that throws is reported by Node as an uncaught
 * exception on the next tick; the request still completes.)
 */
export function createEventEmitter(issuer: string, now: () => Date, listener: EventListener | undefined): EmitEvent {
  return (input) => {
    const target = CHANNELS.get(input.type);
    const subscribed = target?.hasSubscribers === true;
    if (listener === undefined && !subscribed) return;
    const event = freezeEvent({ ...input, issuer, time: now() });
    if (subscribed) target!.publish(event);
    if (listener === undefined) return;
    try {
      const result = listener(event);
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(undefined, ignore);
    } catch {
      // The listener's failure is the application's; the action it reports stands.
    }
  };
}

const ignore = (): void => {};

/** Copies the arrays and dates the event shares with the server's records, and freezes the lot. */
function freezeEvent(event: Record<string, unknown>): PortcullisEvent {
  for (const [name, value] of Object.entries(event)) {
    if (Array.isArray(value)) event[name] = Object.freeze([...value]);
    else if (value instanceof Date) event[name] = new Date(value);
  }
  return Object.freeze(event) as unknown as PortcullisEvent;
}

/** Checks an `onEvent` option: a function or nothing. */
export function checkEventListener(where: string, listener: unknown): EventListener | undefined {
  if (listener === undefined) return undefined;
  if (typeof listener !== 'function') throw new TypeError(`${where} must be a function (event) => void`);
  return listener as EventListener;
}
