import { setTimeout as sleep } from 'node:timers/promises';
import * as oauth from 'oauth4webapi';

export interface DeviceLoginOptions {
  /** The demo server, its issuer: discovery reads its RFC 8414 metadata. */
  server: URL;
  clientId: string;
  scope: string;
  out(line: string): void;
}

/** RFC 8628 section 3.5: a `slow_down` answer adds 5 seconds to the interval, for good. */
const SLOW_DOWN_SECONDS = 5;

/**
 * The device flow as a command-line client runs it (RFC 8628), with oauth4webapi: discovery,
 * the device authorization request, the code shown to the user, then polls of the token endpoint
 * every `interval` seconds until the user decides or the code expires. With the token, it lists
 * the polls the API shows.
 */
export async function loginWithDeviceFlow(options: DeviceLoginOptions): Promise<void> {
  const { server, out } = options;
  // The demo runs over plain HTTP in development; anywhere else oauth4webapi insists on https.
  const transport = server.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
  const as = await oauth.processDiscoveryResponse(server, await oauth.discoveryRequest(server, { ...transport, algorithm: 'oauth2' }));
  if (as.device_authorization_endpoint === undefined) throw new Error(`${server.origin} offers no device authorization endpoint`);
  const client: oauth.Client = { client_id: options.clientId };
  const clientAuth = oauth.None();

  const started = await oauth.processDeviceAuthorizationResponse(
    as,
    client,
    await oauth.deviceAuthorizationRequest(as, client, clientAuth, new URLSearchParams({ scope: options.scope }), transport),
  );
  out(`To sign in, open ${started.verification_uri} and enter the code ${started.user_code}`);
  if (started.verification_uri_complete !== undefined) out(`(or open ${started.verification_uri_complete})`);

  let interval = started.interval ?? 5;
  const deadline = Date.now() + started.expires_in * 1000;
  let tokens: oauth.TokenEndpointResponse | undefined;
  while (tokens === undefined) {
    if (Date.now() >= deadline) throw new Error('the code expired before it was approved; run login again');
    await sleep(interval * 1000);
    try {
      const response = await oauth.deviceCodeGrantRequest(as, client, clientAuth, started.device_code, transport);
      tokens = await oauth.processDeviceCodeResponse(as, client, response);
    } catch (error) {
      if (!(error instanceof oauth.ResponseBodyError)) throw error;
      if (error.error === 'authorization_pending') continue;
      if (error.error === 'slow_down') {
        interval += SLOW_DOWN_SECONDS;
        continue;
      }
      if (error.error === 'access_denied') throw new Error('the sign-in was denied');
      if (error.error === 'expired_token') throw new Error('the code expired before it was approved; run login again');
      throw new Error(`the server refused: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`);
    }
  }
  out(`Signed in (scope: ${tokens.scope ?? options.scope}).`);

  const response = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL('/api/polls', server), undefined, undefined, transport);
  if (response.status !== 200) throw new Error(`GET /api/polls answered ${response.status}`);
  const { polls } = (await response.json()) as { polls: { id: number; question: string; choices: { label: string }[] }[] };
  out(`${polls.length} poll${polls.length === 1 ? '' : 's'}:`);
  for (const poll of polls) out(`  #${poll.id} ${poll.question} (${poll.choices.map((choice) => choice.label).join(' / ')})`);
}
