import { collectRequestParameters } from './protocol-parameters.js';
import { buildSignatureBaseString, type ParameterList } from './signature-base-string.js';
import { createSignature, type SignatureCredentials, type SignatureMethod } from './signature-methods.js';

export interface SignRequestInput {
  method: string;
  /** The request URL, query included: query parameters are signed. */
  url: URL | string;
  consumerKey: string;
  signatureMethod: SignatureMethod;
  credentials: SignatureCredentials;
  /** The temporary or token credentials identifier, when the request has one. */
  token?: string;
  /** Seconds since the epoch. Left out with PLAINTEXT if wanted (section 3.1). */
  timestamp?: number | string;
  nonce?: string;
  /** More protocol parameters: `oauth_callback`, `oauth_verifier`, `oauth_version`. */
  extra?: Record<string, string>;
  /** A form body (application/x-www-form-urlencoded), which is signed too. */
  body?: Record<string, string | string[]>;
}

/**
 * The client side of section 3.1: the protocol parameters of a request with its
 * `oauth_signature`, ready for `formatAuthorizationHeader` or a form body. Used by tests and by
 * adapters that call other OAuth 1.0a servers; it shares the server's base string code, so it
 * proves nothing about that code on its own (the RFC vectors do).
 */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const protocol: Record<string, string> = {
    oauth_consumer_key: input.consumerKey,
    oauth_signature_method: input.signatureMethod,
  };
  if (input.token !== undefined) protocol['oauth_token'] = input.token;
  if (input.timestamp !== undefined) protocol['oauth_timestamp'] = String(input.timestamp);
  if (input.nonce !== undefined) protocol['oauth_nonce'] = input.nonce;
  Object.assign(protocol, input.extra);

  const url = typeof input.url === 'string' ? new URL(input.url) : input.url;
  const collected = collectRequestParameters({
    url,
    headers: input.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
    body: input.body,
  });
  const parameters: ParameterList = [...collected.signatureParameters, ...Object.entries(protocol)];
  const baseString = buildSignatureBaseString(input.method, url, parameters);
  return { ...protocol, oauth_signature: createSignature(input.signatureMethod, baseString, input.credentials) };
}
