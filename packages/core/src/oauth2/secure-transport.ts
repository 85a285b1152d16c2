import { invalidRequest } from '../errors.js';
import type { OAuthRequest } from '../http.js';
import type { ServerContext } from './options.js';

/** `enforceSecure`: credentials never travel in clear outside development mode. */
export function assertSecureTransport(context: ServerContext, request: OAuthRequest): void {
  if (context.options.enforceSecure && !request.secure) throw invalidRequest('TLS required');
}
