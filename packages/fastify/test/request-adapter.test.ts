import Fastify from 'fastify';
import t from 'tap';
import { toOAuthRequest } from '../src/request-adapter.js';

/** A server whose one route answers with what the adapter made of the request. */
async function adapterApp(onRequest?: (headers: Record<string, string | string[] | undefined>) => void) {
  const app = Fastify();
  if (onRequest) app.addHook('onRequest', async (request) => onRequest(request.raw.headers));
  app.get('/adapt', async (request) => {
    const adapted = toOAuthRequest(request);
    const url = adapted.url;
    return {
      headers: adapted.headers,
      sameObject: adapted.headers === request.headers,
      url: url.href,
      urlParsedOnce: url instanceof URL && adapted.url === url,
      method: adapted.method,
      secure: adapted.secure,
    };
  });
  await app.ready();
  return app;
}

t.test('the request headers are read as they are when every value is one string', async (t) => {
  const app = await adapterApp();
  t.teardown(() => app.close());
  const response = await app.inject({ url: '/adapt?x=1', headers: { authorization: 'Basic abc', 'x-trace': 'one' } });
  const body = response.json();
  t.equal(body.headers.authorization, 'Basic abc');
  t.equal(body.headers['x-trace'], 'one');
  t.equal(body.sameObject, true, 'no copy is made');
  t.equal(body.url, 'http://localhost/adapt?x=1', 'the URL, the default port left out');
  t.equal(body.urlParsedOnce, true, 'the URL is parsed on first read and kept');
  t.equal(body.method, 'GET');
  t.equal(body.secure, false);
});

t.test('a header still holding a list is joined, in a copy', async (t) => {
  // Node leaves only Set-Cookie as a list; a hook may still have put one on any name.
  const app = await adapterApp((headers) => {
    headers['x-forwarded-for'] = ['192.0.2.1', '198.51.100.2'];
  });
  t.teardown(() => app.close());
  const response = await app.inject({ url: '/adapt', headers: { authorization: 'Bearer t' } });
  const body = response.json();
  t.equal(body.headers['x-forwarded-for'], '192.0.2.1, 198.51.100.2');
  t.equal(body.headers.authorization, 'Bearer t', 'the other headers come along');
  t.equal(body.sameObject, false, 'the request keeps its own headers');
});
