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
