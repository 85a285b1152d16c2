import { tokenDigest } from '../crypto.js';
import type { OAuthRequest, OAuthResponse } from '../http.js';
import { authenticateClient } from './client-authentication.js';
import { readFormParameters } from './form-request.js';
import type { ServerContext } from './options.js';
import { NO_STORE_HEADERS, createErrorResponse } from './responses.js';
import { findToken } from './token-lookup.js';

/**
 * `POST /oauth/revoke` (RFC 7009). The answer is 200 whether or not anything was revoked: an
 * unknown token, or one of another client (left alone), must not be told apart from a revoked
 * one. Revoking a refresh token revokes its family, the access tokens it gave included
 * (section 2.1); a public client may revoke its own tokens with its client_id.
 */
export async function handleRevocationRequest(context: ServerContext, request: OAuthRequest): Promise<OAuthResponse> {
  try {
    const params = readFormParameters(context, request, 'revocation');
    const { client } = await authenticateClient(context, request, params);
    const token = params.require('token');
    const found = await findToken(context, tokenDigest(token), params.get('token_type_hint'));
    if (found !== null && found.record.clientId === client.id) {
      const now = context.now();
      const { storage } = context.options;
      const { kind, record } = found;
      const count =
        kind === 'refresh_token'
          ? await storage.revokeFamily(record.familyId, now)
          : record.revokedAt === null && (await storage.revokeAccessToken(record.id, now)) ? 1 : 0;
      if (count > 0) {
        context.emit({
          type: 'token.revoked',
          revokedBy: 'revocation_endpoint',
          clientId: client.id,
          userId: record.userId,
          tokenKind: kind,
          tokenId: record.id,
          familyId: kind === 'refresh_token' ? record.familyId : null,
          count,
        });
      }
    }
    return { status: 200, headers: { ...NO_STORE_HEADERS }, body: '' };
  } catch (thrown) {
    return createErrorResponse(thrown);
  }
}
