import fc from 'fast-check';
import { validateHeaderValue } from 'node:http';
import t from 'tap';
import { ALICE_PASSWORD, answered, Browser, buildTestApp, watchUnhandledRejections } from './helpers.js';

const ORIGIN = 'http://127.0.0.1:3000';

/** Pieces that break headers, URLs or the same-origin rule, mixed with arbitrary text. */
const PIECES = ['\r', '\n', '\r\n', '\0', '\t', ' ', '\u3002', '\u2028', '\u2029', '\u00e9', '\ufeff', '\\', '//', '/\\', '\\\\', '%0d%0a', '%0D%0A', '%00', '%', '%zz', '%E3%80%82', '/', '?', '#', '@', ':', '..', 'http://evil.example', 'evil.example'];

const returnPath = fc
  .tuple(
    fc.constantFrom('/', '', '//', '/\\', '\\'),
    fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 10 }),
  )
  // Lone surrogates cannot be percent-encoded into a URL; U+FFFD stands in for them.
  .map(([head, parts]) => (head + parts.join('')).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));

/** A Location Node accepts and that stays on the demo's origin. */
function checkLocation(location: unknown, sent: string): void {
  if (typeof location !== 'string') throw new Error(`no Location for ${JSON.stringify(sent)}`);
  validateHeaderValue('location', location);
  if (!/^\/(?![/\\])[\x21-\x7e]*$/.test(location)) throw new Error(`Location ${JSON.stringify(location)} is not a plain same-origin path`);
  if (new URL(location, ORIGIN).origin !== ORIGIN) throw new Error(`Location ${JSON.stringify(location)} leaves the origin`);
  if (location !== '/' && location !== sent) throw new Error(`Location ${JSON.stringify(location)} is neither / nor the path sent`);
}

t.test('any return path: GET /login and the login form redirect on the same origin, never crash', async (t) => {
  const rejections = watchUnhandledRejections(t);
  const { app } = await buildTestApp({ rateLimit: { max: 10_000, windowMs: 60_000 } });
  t.teardown(() => app.close());
  const loggedIn = new Browser(app);
  t.equal((await loggedIn.login('alice', ALICE_PASSWORD)).statusCode, 303);

  await fc.assert(
    fc.asyncProperty(returnPath, async (value) => {
      const res = await answered(loggedIn.get(`/login?returnTo=${encodeURIComponent(value)}`));
      if (res.statusCode !== 303) throw new Error(`GET /login answered ${res.statusCode} for ${JSON.stringify(value)}`);
      checkLocation(res.headers.location, value);
      const anonymous = await answered(app.inject({ url: `/login?returnTo=${encodeURIComponent(value)}` }));
      if (anonymous.statusCode !== 200) throw new Error(`the login page answered ${anonymous.statusCode} for ${JSON.stringify(value)}`);
    }),
    { numRuns: 300 },
  );

  await fc.assert(
    fc.asyncProperty(returnPath, async (value) => {
      const res = await answered(new Browser(app).login('alice', ALICE_PASSWORD, value));
      if (res.statusCode !== 303) throw new Error(`the login POST answered ${res.statusCode} for ${JSON.stringify(value)}`);
      checkLocation(res.headers.location, value);
    }),
    { numRuns: 60 },
  );
  t.pass('every return path was answered with a safe redirect');
  t.equal((await loggedIn.get('/')).statusCode, 200, 'the app still answers');
  await rejections.assertNone();
});
