import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import { describe, expect, test } from 'tstyche';
import type {
  AuthorizationServer,
  EventListener,
  OAuth1AuthorizationRequest,
  OAuth1Provider,
  OAuthRequest,
  OAuthResponse,
  OAuthStorage,
  PortcullisEvent,
} from '@portcullis/core';
import fastifyPortcullis, {
  fastifyPortcullis as namedPortcullis,
  NoLocalServerError,
  sendOAuthError,
  sendOAuthResponse,
  toOAuthRequest,
  type ConsentContext,
  type DeclaredScope,
  type MountedPaths,
  type OAuth1Paths,
  type PortcullisDecorator,
  type PortcullisOptions,
  type RequestAuth,
  type ScopeGuard,
} from '../src/index.js';

declare const storage: OAuthStorage;

/** True when every property K of T is readonly (identical to its `Readonly` form). */
type ReadonlyKeys<T, K extends keyof T> =
  (<U>() => U extends Pick<T, K> ? 1 : 2) extends <U>() => U extends Readonly<Pick<T, K>> ? 1 : 2 ? true : false;

describe('one name', () => {
  test('the default export is the named fastifyPortcullis', () => {
    expect(fastifyPortcullis).type.toBe(namedPortcullis);
    expect(fastifyPortcullis).type.toBeAssignableTo<FastifyPluginAsync<PortcullisOptions>>();
  });
});

describe('decorators', () => {
  const app = Fastify();

  test('fastify.oauth', () => {
    expect(app.oauth.server).type.toBe<AuthorizationServer>();
    expect(app.oauth.declaredScopes()).type.toBe<DeclaredScope[]>();
    expect(app.oauth.revokeGrant('user', 'client')).type.toBe<Promise<number>>();
    expect(app.oauth.revokeGrant).type.toBeCallableWith('user', 'client', { revokedBy: 'admin' });
    expect(app.oauth.revokeGrant).type.not.toBeCallableWith('user', 'client', { revokedBy: 'revocation_endpoint' });
    expect(app.oauth.registerClient).type.not.toBeCallableWith({});
    expect(app.oauth.oauth1).type.toBe<OAuth1Provider | null>();
    expect(app.oauth.paths.oauth1).type.toBe<OAuth1Paths | null>();
  });

  test('fastify.oauth is read-only', () => {
    expect(app.oauth).type.toBe<PortcullisDecorator>();
    expect(app.oauth).type.not.toHaveProperty('verifiers');
    expect<ReadonlyKeys<FastifyInstance, 'oauth'>>().type.toBe<true>();
    expect<ReadonlyKeys<PortcullisDecorator, keyof PortcullisDecorator>>().type.toBe<true>();
    expect<ReadonlyKeys<MountedPaths, keyof MountedPaths>>().type.toBe<true>();
    expect<ReadonlyKeys<OAuth1Paths, keyof OAuth1Paths>>().type.toBe<true>();
    // The check itself tells a writable property apart.
    expect<ReadonlyKeys<{ a: string; readonly b: string }, 'a' | 'b'>>().type.toBe<false>();
    expect<MountedPaths['oauth1']>().type.toBe<OAuth1Paths | null>();
  });

  test('fastify.requireScope', () => {
    expect(app.requireScope('polls:vote')).type.toBe<ScopeGuard>();
    expect(app.requireScope('read', 'write')).type.toBe<ScopeGuard>();
    expect(app.requireScope()).type.toBe<ScopeGuard>();
    expect(app.requireScope({ auto: true })).type.toBe<ScopeGuard>();
    expect(app.requireScope({ auto: true, app: 'polls', view: 'results' })).type.toBe<ScopeGuard>();
    expect(app.requireScope).type.not.toBeCallableWith({ auto: false });
    expect(app.requireScope).type.not.toBeCallableWith(42);
    expect(app.requireScope).type.not.toBeCallableWith({ auto: true }, 'read');
    expect(app.requireScope('polls:vote', { resource: 'https://example.com/mcp' })).type.toBe<ScopeGuard>();
    expect(app.requireScope({ auto: true, resource: 'https://example.com/mcp' })).type.toBe<ScopeGuard>();
    expect(app.requireScope).type.not.toBeCallableWith({ resource: 'https://example.com/mcp' }, 'read');
  });

  test('a guard is a route preHandler', () => {
    app.get('/x', { preHandler: app.requireScope('read') }, async () => 'x');
    app.get('/y', { preHandler: [app.requireScope({ auto: true })] }, async () => 'y');
    app.addHook('preHandler', app.requireScope());
    app.get<{ Params: { id: string } }>('/p/:id', { preHandler: app.requireScope('read') }, async (request) => request.params.id);
  });

  test('the request adapters for routes of the application', () => {
    app.post('/legacy/token', async (request, reply) => {
      expect(toOAuthRequest(request)).type.toBe<OAuthRequest>();
      try {
        const response = await app.oauth.server.handleTokenRequest(toOAuthRequest(request));
        expect(sendOAuthResponse(reply, response)).type.toBe<FastifyReply>();
        return sendOAuthResponse(reply, response);
      } catch (error) {
        expect(sendOAuthError(reply, error)).type.toBe<FastifyReply>();
        return sendOAuthError(reply, error);
      }
    });
    expect(sendOAuthResponse).type.not.toBeCallableWith(Fastify(), { status: 200 });
    expect(sendOAuthResponse).type.toBeCallableWith({} as FastifyReply, {} as OAuthResponse);
    expect(toOAuthRequest).type.not.toBeCallableWith({ url: '/x' });
  });

  test('request.oauth', () => {
    expect<FastifyRequest['oauth']>().type.toBe<RequestAuth | null>();
    expect<RequestAuth['protocol']>().type.toBe<'oauth2' | 'oauth1'>();
    expect<RequestAuth['userId']>().type.toBe<string | null>();
    expect<RequestAuth['scope']>().type.toBe<string[]>();
  });
});

describe('options', () => {
  const base = {
    storage,
    issuer: 'https://auth.example.com',
    getUser: (_request: FastifyRequest) => null,
    loginUrl: '/login',
  };

  test('required options', () => {
    expect(base).type.toBeAssignableTo<PortcullisOptions>();
    const { storage: _s, ...withoutStorage } = base;
    expect(withoutStorage).type.not.toBeAssignableTo<PortcullisOptions>();
    const { issuer: _i, ...withoutIssuer } = base;
    expect(withoutIssuer).type.not.toBeAssignableTo<PortcullisOptions>();
    const { getUser: _g, ...withoutGetUser } = base;
    expect(withoutGetUser).type.not.toBeAssignableTo<PortcullisOptions>();
  });

  test('optional options and their types', () => {
    expect({
      ...base,
      routePrefix: '/auth',
      sessionKey: 'oauth',
      allowQueryToken: true,
      development: true,
      enforceSecure: false,
      accessTokenTtl: 600,
      loginUrl: (_request: FastifyRequest, returnTo: string) => `/login?r=${returnTo}`,
      renderConsent: (_request: FastifyRequest, reply: FastifyReply) => reply.send('page'),
      getUser: async () => ({ id: 'u1', username: 'alice' }),
    }).type.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, allowQueryToken: 'yes' }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, profile: 'oauth2.0' as const, allowLocalhostAnyPort: true }).type.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, profile: 'oauth2.2' as const }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, loginUrl: 42 }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, getUser: () => 'alice' }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, renderConsent: 'page' }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, storage: {} }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, issuer: new URL('https://auth.example.com') }).type.not.toBeAssignableTo<PortcullisOptions>();
  });

  test('the core options passed through keep the core types', () => {
    expect({
      ...base,
      refreshTokenTtl: 86400,
      authorizationCodeTtl: 60,
      singleAccessToken: true,
      defaultScopes: ['read'],
      clock: () => new Date(),
    }).type.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, accessTokenTtl: '600' }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, singleAccessToken: 'yes' }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, defaultScopes: 'read' }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, clock: Date.now }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, verifyUser: 42 }).type.not.toBeAssignableTo<PortcullisOptions>();
  });

  test('OAuth 1.0a options', () => {
    expect({ ...base, oauth1: true, secretKey: 'k' }).type.toBeAssignableTo<PortcullisOptions>();
    expect({
      ...base,
      oauth1: { timestampWindow: 60, requestTokenTtl: 300, accessTokenTtl: null, realm: 'Photos' },
      oauth1RoutePrefix: '/o1',
      secretKey: new Uint8Array(32),
    }).type.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, oauth1: 'yes' }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...base, oauth1: { timestampWindow: '60' } }).type.not.toBeAssignableTo<PortcullisOptions>();
  });

  test('the consent context says which protocol asks', () => {
    const render = (context: ConsentContext) => {
      if (context.protocol === 'oauth1') {
        expect(context.oauth1Request).type.toBe<OAuth1AuthorizationRequest>();
      } else if (context.protocol === 'device') {
        expect(context.deviceRequest.clientName).type.toBe<string>();
      } else {
        expect(context.authorizationRequest.redirectUri).type.toBe<string>();
      }
    };
    expect(render).type.toBe<(context: ConsentContext) => void>();
  });

  test('token-only and resource-server setups need no getUser or loginUrl', () => {
    const { getUser: _g, loginUrl: _l, ...machine } = base;
    expect({ ...machine, authorizationEndpoint: false as const }).type.toBeAssignableTo<PortcullisOptions>();
    expect({ ...machine, resourceServer: true as const }).type.toBeAssignableTo<PortcullisOptions>();
    const { storage: _s, ...remote } = machine;
    const introspection = { url: 'https://auth.example.com/oauth/introspect', clientId: 'api', clientSecret: 's' };
    expect({ ...remote, resourceServer: { introspection } }).type.toBeAssignableTo<PortcullisOptions>();
    expect({ ...remote, resourceServer: { introspection: { ...introspection, cacheTtl: 10, cacheSize: 100, timeout: 2000 } } }).type.toBeAssignableTo<PortcullisOptions>();
    expect({ ...remote, resourceServer: true as const }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...remote, resourceServer: { introspection: { url: introspection.url } } }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect({ ...remote, resourceServer: { jwt: {} } }).type.toBeAssignableTo<PortcullisOptions>();
    expect({ ...remote, resourceServer: { jwt: { jwksUri: 'https://auth.example.com/oauth/jwks.json', algorithms: ['ES256' as const] }, introspection } }).type.toBeAssignableTo<PortcullisOptions>();
    expect({ ...remote, resourceServer: {} }).type.not.toBeAssignableTo<PortcullisOptions>();
    expect(machine).type.not.toBeAssignableTo<PortcullisOptions>();
  });

  test('register checks the options', () => {
    const app = Fastify();
    app.register(fastifyPortcullis, base);
    app.register(fastifyPortcullis, { ...base, prefix: '/auth' });
    expect(app.register).type.not.toBeCallableWith(fastifyPortcullis, { issuer: 'https://auth.example.com' });
    app.register(fastifyPortcullis, {
      issuer: 'https://auth.example.com',
      resourceServer: { introspection: { url: 'https://auth.example.com/oauth/introspect', clientId: 'api', clientSecret: 's' } },
    });
    app.register(fastifyPortcullis, { storage, issuer: 'https://auth.example.com', authorizationEndpoint: false });
  });

  test('fastify.oauth is decorated in every setup, a remote resource server included', () => {
    const app = Fastify();
    app.register(fastifyPortcullis, {
      issuer: 'https://auth.example.com',
      resourceServer: { introspection: { url: 'https://auth.example.com/oauth/introspect', clientId: 'api', clientSecret: 's' } },
    });
    expect<FastifyInstance['oauth']>().type.toBe<PortcullisDecorator>();
    expect(app.oauth.declaredScopes()).type.toBe<DeclaredScope[]>();
    expect(new NoLocalServerError('server').code).type.toBe<'FST_PORTCULLIS_NO_LOCAL_SERVER'>();
  });
});

describe('events', () => {
  test('onEvent gets the typed union, narrowed by type', () => {
    const options: Partial<PortcullisOptions> = {
      onEvent: (event) => {
        expect(event).type.toBe<PortcullisEvent>();
        if (event.type === 'token.issued') expect(event.accessTokenId).type.toBe<string>();
        if (event.type === 'client.authentication_failed') expect(event.clientId).type.toBe<string | null>();
      },
    };
    expect(options.onEvent).type.toBe<EventListener | undefined>();
  });
});
