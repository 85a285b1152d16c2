/** The endpoints the plugin mounts, as named in their routes' `config.portcullis.endpoint`. */
export type PortcullisEndpoint =
  | 'authorize'
  | 'token'
  | 'device_authorization'
  | 'device'
  | 'revoke'
  | 'introspect'
  | 'metadata'
  | 'jwks'
  | 'register'
  | 'register_client'
  | 'resource_metadata'
  | 'oauth1_request_token'
  | 'oauth1_authorize'
  | 'oauth1_access_token'
  | 'userinfo'
  | 'end_session'
  | 'openid_configuration';

/**
 * Every route the plugin declares carries its endpoint's name in its config, so an application's
 * `onRoute` hooks (rate limits, logging, metrics) can find the plugin's routes whatever prefix
 * they were mounted under, without matching paths.
 */
export function endpointConfig(endpoint: PortcullisEndpoint): { portcullis: { endpoint: PortcullisEndpoint } } {
  return { portcullis: { endpoint } };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    portcullis?: { endpoint: PortcullisEndpoint };
  }
}
