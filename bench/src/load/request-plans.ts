import type { Request as AutocannonRequest } from 'autocannon';
import { isPeerPostTarget, isPeerTarget, type Fixtures, type PeerTargetId, type TargetId } from '../protocol.js';
import { signOAuth1Request } from './oauth1-signer.js';

/** Sent when a pool of single-use credentials ran dry, so the server answers an error we count. */
const EXHAUSTED = 'exhausted';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Where the load generator sends a target's requests, and what it expects back. */
export interface RequestPlan {
  requests: AutocannonRequest[];
  /** 2xx for every target but S7, which must be refused with 401. */
  expectedStatus: 'success' | 401;
}

function encodeForm(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

function basicAuthorization(id: string, secret: string): string {
  // RFC 6749 section 2.3.1: form-urlencode both parts before base64.
  const encode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

/** A wrong secret of the right length and prefix, so the server does all its usual work. */
function alterLastCharacter(secret: string): string {
  return secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
}

function requireFixture<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`the server wrote no ${name} into its fixtures`);
  return value;
}

function pickRandom<T>(values: readonly T[]): T {
  return values[Math.floor(Math.random() * values.length)]!;
}

/**
 * Builds autocannon's `requests` for a target. Every request is built per send (`setupRequest`),
 * so each carries its own token, code or nonce.
 */
export function buildRequestPlan(target: TargetId, fixtures: Fixtures): RequestPlan {
  if (isPeerTarget(target)) return buildPeerPlan(target, fixtures);
  const success = (requests: AutocannonRequest[]): RequestPlan => ({ requests, expectedStatus: 'success' });
  const client = (): { id: string; secret: string } => ({
    id: requireFixture(fixtures.clientId, 'clientId'),
    secret: requireFixture(fixtures.clientSecret, 'clientSecret'),
  });
  switch (target) {
    case 'B0':
      return success([{ method: 'GET', path: '/b0' }]);
    case 'B1':
      return success([{ method: 'POST', path: '/b1', headers: FORM, body: encodeForm({ grant_type: 'none', scope: 'read' }) }]);
    case 'B2': {
      const rows = requireFixture(fixtures.rowCount, 'rowCount');
      return success([
        { method: 'GET', setupRequest: (req) => ({ ...req, path: `/b2?id=${1 + Math.floor(Math.random() * rows)}` }) },
      ]);
    }
    case 'B3':
    case 'B3S': {
      const path = target === 'B3' ? '/b3' : '/b3s';
      let sequence = 0;
      return success([
        {
          method: 'POST',
          path,
          headers: FORM,
          setupRequest: (req) => ({ ...req, body: encodeForm({ payload: `event ${(sequence += 1)}` }) }),
        },
      ]);
    }
    case 'S1': {
      const { id, secret } = client();
      return success([
        {
          method: 'POST',
          path: '/oauth/token',
          headers: { ...FORM, authorization: basicAuthorization(id, secret) },
          body: encodeForm({ grant_type: 'client_credentials', scope: 'read' }),
        },
      ]);
    }
    case 'S2': {
      const tokens = requireFixture(fixtures.accessTokens, 'accessTokens');
      return success([
        {
          method: 'GET',
          path: '/api/resource',
          setupRequest: (req) => ({ ...req, headers: { authorization: `Bearer ${pickRandom(tokens)}` } }),
        },
      ]);
    }
    case 'S3': {
      const { id, secret } = client();
      const tokens = requireFixture(fixtures.accessTokens, 'accessTokens');
      const authorization = basicAuthorization(id, secret);
      return success([
        {
          method: 'POST',
          path: '/oauth/introspect',
          setupRequest: (req) => ({
            ...req,
            headers: { ...FORM, authorization },
            body: encodeForm({ token: pickRandom(tokens), token_type_hint: 'access_token' }),
          }),
        },
      ]);
    }
    case 'S4': {
      const { id, secret } = client();
      // A pool rather than per-connection state: autocannon resets a connection's context after
      // each pass over its requests. A token goes back into the pool only from the response that
      // issued it, so every refresh token is used exactly once, after its predecessor's answer.
      const pool = [...requireFixture(fixtures.refreshTokens, 'refreshTokens')];
      const authorization = basicAuthorization(id, secret);
      return success([
        {
          method: 'POST',
          path: '/oauth/token',
          setupRequest: (req) => {
            // Empty only after a failed rotation: the made-up token then shows up as a non-2xx.
            const token = pool.shift() ?? EXHAUSTED;
            return { ...req, headers: { ...FORM, authorization }, body: encodeForm({ grant_type: 'refresh_token', refresh_token: token }) };
          },
          onResponse: (status, body) => {
            if (status !== 200) return;
            const next = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
            if (next) pool.push(next);
          },
        },
      ]);
    }
    case 'S5': {
      const { id, secret } = client();
      const codes = [...requireFixture(fixtures.codes, 'codes')];
      const authorization = basicAuthorization(id, secret);
      return success([
        {
          method: 'POST',
          path: '/oauth/token',
          setupRequest: (req) => {
            const code = codes.shift() ?? { code: EXHAUSTED, redirectUri: 'http://127.0.0.1/none', verifier: EXHAUSTED };
            return {
              ...req,
              headers: { ...FORM, authorization },
              body: encodeForm({
                grant_type: 'authorization_code',
                code: code.code,
                redirect_uri: code.redirectUri,
                code_verifier: code.verifier,
              }),
            };
          },
        },
      ]);
    }
    case 'S6': {
      const credentials = requireFixture(fixtures.oauth1, 'oauth1');
      const baseUri = `${credentials.origin}/api/resource`;
      return success([
        {
          method: 'GET',
          path: '/api/resource',
          setupRequest: (req) => ({ ...req, headers: { authorization: signOAuth1Request('GET', baseUri, credentials) } }),
        },
      ]);
    }
    case 'S7': {
      const { id, secret } = client();
      return {
        expectedStatus: 401,
        requests: [
          {
            method: 'POST',
            path: '/oauth/token',
            headers: { ...FORM, authorization: basicAuthorization(id, alterLastCharacter(secret)) },
            body: encodeForm({ grant_type: 'client_credentials', scope: 'read' }),
          },
        ],
      };
    }
    case 'S8': {
      const { id, secret } = client();
      return success([
        {
          method: 'POST',
          path: '/oauth/token',
          headers: { ...FORM, authorization: basicAuthorization(id, secret) },
          body: encodeForm({
            grant_type: 'password',
            username: requireFixture(fixtures.username, 'username'),
            password: requireFixture(fixtures.password, 'password'),
            scope: 'read',
          }),
        },
      ]);
    }
  }
}

/**
 * The peers' two scenarios, the same requests to every server at its own paths: a
 * client_credentials grant with client_secret_basic (RFC 6749 section 4.4), and a GET with a
 * bearer token (RFC 6750 section 2.1) picked at random from those the server issued. The bare
 * yardsticks get the same requests as the servers they measure.
 */
function buildPeerPlan(target: PeerTargetId, fixtures: Fixtures): RequestPlan {
  if (isPeerPostTarget(target)) {
    const authorization = basicAuthorization(requireFixture(fixtures.clientId, 'clientId'), requireFixture(fixtures.clientSecret, 'clientSecret'));
    return {
      expectedStatus: 'success',
      requests: [
        {
          method: 'POST',
          path: requireFixture(fixtures.tokenPath, 'tokenPath'),
          headers: { ...FORM, authorization },
          body: encodeForm({ grant_type: 'client_credentials', scope: 'read' }),
        },
      ],
    };
  }
  const tokens = requireFixture(fixtures.accessTokens, 'accessTokens');
  const path = requireFixture(fixtures.resourcePath, 'resourcePath');
  return {
    expectedStatus: 'success',
    requests: [{ method: 'GET', path, setupRequest: (req) => ({ ...req, headers: { authorization: `Bearer ${pickRandom(tokens)}` } }) }],
  };
}
