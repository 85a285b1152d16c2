import { OAuthError } from '../errors.js';
import { headerOf, type OAuthRequest } from '../http.js';
import { parseAuthorizationHeader } from './authorization-header.js';
import type { ParameterList } from './signature-base-string.js';

/** Where the protocol parameters came from (RFC 5849 section 3.5). */
export type ParameterSource = 'header' | 'body' | 'query';

export interface RequestParameters {
  /**
   * Every parameter the signature covers (section 3.4.1.3.1): the query, the `Authorization`
   * header without `realm`, and the form body when the request is form encoded; decoded, in
   * request order, `oauth_signature` left out.
   */
  signatureParameters: ParameterList;
  /** The `oauth_*` parameters, each once (a repeated one was refused), `oauth_signature` included. */
  protocol: ReadonlyMap<string, string>;
  /** The one place the protocol parameters were sent in, or null when there are none. */
  source: ParameterSource | null;
  /** The header's `realm`, which is not signed. */
  realm: string | null;
}

/**
 * Whether the Content-Type is `application/x-www-form-urlencoded` (parameters such as
 * `charset` allowed): only then does the body take part in the signature (section 3.4.1.3.1).
 */
export function isFormContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';', 1)[0] ?? '';
  return mediaType.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/**
 * Gathers the parameters of a request (section 3.4.1.3.1) and picks out the protocol parameters,
 * which must all come from exactly one place (section 3.5) and appear once each. Throws
 * `parameter_rejected` otherwise.
 */
export function collectRequestParameters(request: Pick<OAuthRequest, 'url' | 'headers' | 'body'>): RequestParameters {
  const bySource: Array<[ParameterSource, ParameterList]> = [];

  const authorization = headerOf(request, 'authorization');
  const header = authorization === undefined ? null : parseAuthorizationHeader(authorization);
  let realm: string | null = null;
  if (header) {
    const withoutRealm: Array<[string, string]> = [];
    for (const [name, value] of header) {
      if (name === 'realm') {
        if (realm !== null) throw rejected('The Authorization header names realm twice.');
        realm = value;
      } else {
        withoutRealm.push([name, value]);
      }
    }
    bySource.push(['header', withoutRealm]);
  }

  // URLSearchParams decodes as application/x-www-form-urlencoded, `+` as a space, which is
  // what section 3.4.1.3.1 asks for the query.
  bySource.push(['query', [...request.url.searchParams]]);

  if (request.body !== undefined && isFormContentType(headerOf(request, 'content-type'))) {
    const body: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(request.body)) {
      for (const item of Array.isArray(value) ? value : [value]) body.push([name, item]);
    }
    bySource.push(['body', body]);
  }

  const signatureParameters: Array<readonly [string, string]> = [];
  const protocol = new Map<string, string>();
  let source: ParameterSource | null = null;
  for (const [where, parameters] of bySource) {
    for (const [name, value] of parameters) {
      if (name.startsWith('oauth_')) {
        if (source !== null && source !== where) {
          throw rejected(`Protocol parameters were sent in both the ${source} and the ${where}; use exactly one.`);
        }
        source = where;
        if (protocol.has(name)) throw rejected(`The protocol parameter ${name} appears more than once.`);
        protocol.set(name, value);
      }
      if (name !== 'oauth_signature') signatureParameters.push([name, value]);
    }
  }
  return { signatureParameters, protocol, source, realm };
}

function rejected(description: string): OAuthError {
  return new OAuthError('parameter_rejected', { description });
}
