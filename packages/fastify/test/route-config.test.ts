import t from 'tap';
import type { PortcullisEndpoint } from '../src/index.js';
import fastifyPortcullis from '../src/index.js';
import { buildTestApp } from './helpers.js';

const SECRET_KEY = '3f'.repeat(16) + 'a1'.repeat(16);

t.test("every route of the plugin names its endpoint in config, seen by the app's onRoute hooks", async (t) => {
  const seen: { url: string; method: string; endpoint: PortcullisEndpoint | undefined }[] = [];
  const built = await buildTestApp({
    plugin: { oauth1: true, secretKey: SECRET_KEY },
    mount: async (app, options) => {
      // Registered before the plugin, as a rate limiter's hook is.
      app.addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) {
          seen.push({ url: route.url, method, endpoint: route.config?.portcullis?.endpoint });
        }
      });
      await app.register(fastifyPortcullis, { ...options, prefix: '/auth' });
    },
  });
  t.teardown(() => built.close());

  const endpointOf = (method: string, url: string) => seen.find((r) => r.method === method && r.url === url)?.endpoint;
  t.equal(endpointOf('POST', '/auth/oauth/token'), 'token');
  t.equal(endpointOf('GET', '/auth/oauth/token'), 'token', 'the 405 routes too');
  t.equal(endpointOf('POST', '/auth/oauth/revoke'), 'revoke');
  t.equal(endpointOf('POST', '/auth/oauth/introspect'), 'introspect');
  t.equal(endpointOf('GET', '/auth/oauth/authorize'), 'authorize');
  t.equal(endpointOf('POST', '/auth/oauth/authorize'), 'authorize');
  t.equal(endpointOf('GET', '/auth/.well-known/oauth-authorization-server'), 'metadata');
  t.equal(endpointOf('POST', '/auth/oauth1/request_token'), 'oauth1_request_token');
  t.equal(endpointOf('GET', '/auth/oauth1/authorize'), 'oauth1_authorize');
  t.equal(endpointOf('POST', '/auth/oauth1/access_token'), 'oauth1_access_token');
  t.equal(endpointOf('POST', '/login'), undefined, "the app's own routes carry nothing");
  const plugin = seen.filter((r) => r.url.startsWith('/auth/'));
  t.ok(plugin.length >= 10);
  t.same(plugin.filter((r) => r.endpoint === undefined && r.method !== 'HEAD'), [], 'no plugin route without its endpoint name');
});
