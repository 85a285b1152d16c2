import t from 'tap';
import { invalidClient, OAuthError, StorageError, toOAuthError } from '../src/errors.js';

const framesOf = (error: Error): string[] => (error.stack ?? '').split('\n').slice(1);

t.test('an OAuthError is an answer: no stack frames, everything else kept', async (t) => {
  const cause = new Error('the digest did not match');
  const error = new OAuthError('invalid_client', { description: 'Client authentication failed.', cause });
  t.equal(error.stack, 'OAuthError: Client authentication failed.', 'the first line only');
  t.strictSame(framesOf(error), []);
  t.ok(error instanceof OAuthError);
  t.ok(error instanceof Error);
  t.equal(error.name, 'OAuthError');
  t.equal(error.message, 'Client authentication failed.');
  t.equal(error.cause, cause, 'the cause is kept');
  t.ok(framesOf(cause).length > 0, 'and keeps its own stack');
  t.equal(error.status, 401);
  t.strictSame(error.toJSON(), { error: 'invalid_client', error_description: 'Client authentication failed.' });

  const made = invalidClient('Unknown client.');
  t.strictSame(framesOf(made), [], 'the factories too');
  t.equal(String(made), 'OAuthError: Unknown client.');
  t.notOk('cause' in made, 'no cause unless one is given');
});

t.test('a StorageError is a failure: it keeps its stack, and so does every other error', async (t) => {
  const limit = Error.stackTraceLimit;
  new OAuthError('invalid_token');
  t.equal(Error.stackTraceLimit, limit, 'the limit is restored');

  const failure = new StorageError('connection lost');
  t.ok(framesOf(failure).length > 0, 'StorageError has frames');
  t.match(failure.stack, /errors\.test\.ts/, 'pointing at where it was made');
  t.ok(framesOf(new Error('plain')).length > 0, 'a plain Error has frames');

  const mapped = toOAuthError(failure);
  t.equal(mapped.error, 'temporarily_unavailable');
  t.strictSame(framesOf(mapped), []);
  t.equal(mapped.cause, failure, 'the failure, stack and all, is the cause');
});

// RFC 6749 section 5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ).
const DESCRIPTION_CHARACTERS = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

t.test('error_description stays within the characters RFC 6749 section 5.2 allows', async (t) => {
  const cases: Array<[input: string, expected: string]> = [
    ['The grant_type "x" is not supported.', "The grant_type 'x' is not supported."],
    ['back\\slash', 'back%5Cslash'],
    ['line\r\nbreak\ttab\0nul\x7f', 'line%0D%0Abreak%09tab%00nul%7F'],
    ['dot\u3002 and \u2028 and é', 'dot%E3%80%82 and %E2%80%A8 and %C3%A9'],
    ['emoji \u{1F600}', 'emoji %F0%9F%98%80'],
    ['lone \ud800 surrogate', 'lone %EF%BF%BD surrogate'],
    ['100% kept, as are [brackets] and {braces}', '100% kept, as are [brackets] and {braces}'],
  ];
  for (const [input, expected] of cases) {
    const error = new OAuthError('invalid_request', { description: input });
    t.equal(error.description, expected, `made ${expected}`);
    t.equal(error.toJSON().error_description, expected, 'the JSON body too');
    t.equal(error.message, expected, 'and the message');
    t.match(error.description, DESCRIPTION_CHARACTERS);
  }
  t.equal(invalidClient('say "hi"').description, "say 'hi'", 'the factories go through the same rule');
  t.equal(new OAuthError('invalid_request').description, undefined, 'no description stays none');
});

t.test('an echoed megabyte does not come back: a description is bounded, its start and end kept', async (t) => {
  const echoed = `The grant_type ${JSON.stringify('\u3002'.repeat(1_000_000))} is not supported.`;
  const description = new OAuthError('unsupported_grant_type', { description: echoed }).description ?? '';
  t.ok(description.length <= 512, `${description.length} characters`);
  t.match(description, DESCRIPTION_CHARACTERS);
  t.match(description, /^The grant_type '%E3%80%82/, 'the start is kept');
  t.match(description, /%E3%80%82' is not supported\.$/, 'and the end, with the sentence whole');
  t.notMatch(description, /%(?![0-9A-F]{2})/, 'no escape is cut in two');
  const again = new OAuthError('unsupported_grant_type', { description });
  t.equal(again.description, description, 'a description already within the rules is kept as it is');
});
