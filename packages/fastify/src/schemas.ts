import { Type, type Static, type TSchema } from '@sinclair/typebox';

// Form and query values: a repeated parameter arrives as an array. Protocol parameters accept
// both here on purpose: RFC 6749 section 3.1 forbids repeats, but whether that error is shown or
// redirected to the client depends on which parameter repeats, and the core decides that.
const ParamValue = Type.Union([Type.String(), Type.Array(Type.String())]);

function params<T extends Record<string, TSchema>>(properties: T) {
  return Type.Object(properties, { additionalProperties: ParamValue });
}

const single = () => Type.Optional(ParamValue);

const authorizationParams = {
  response_type: single(),
  client_id: single(),
  redirect_uri: single(),
  scope: single(),
  state: single(),
  code_challenge: single(),
  code_challenge_method: single(),
  // RFC 8707 section 2: may repeat.
  resource: single(),
};

export const AuthorizeQuery = params(authorizationParams);
export type AuthorizeQuery = Static<typeof AuthorizeQuery>;

/** The consent form's answer (`CONSENT_FIELDS`), the same for both protocols. */
const consentFields = {
  decision: Type.Optional(Type.Union([Type.Literal('approve'), Type.Literal('deny')])),
  csrf_token: Type.Optional(Type.String()),
  granted_scope: Type.Optional(ParamValue),
  narrow_scope: Type.Optional(Type.String()),
};

/** An authorization request sent as a form, or the consent form's answer. */
export const AuthorizeBody = params({ ...authorizationParams, ...consentFields });
export type AuthorizeBody = Static<typeof AuthorizeBody>;

/**
 * The OAuth 1.0a authorization step sent as a form (RFC 5849 section 2.2: `oauth_token`, which
 * the core reads and checks), or the consent form's answer.
 */
export const OAuth1AuthorizeBody = params({ oauth_token: single(), ...consentFields });
export type OAuth1AuthorizeBody = Static<typeof OAuth1AuthorizeBody>;

const clientAuthentication = {
  client_id: single(),
  client_secret: single(),
};

export const TokenBody = params({
  ...clientAuthentication,
  grant_type: single(),
  code: single(),
  redirect_uri: single(),
  code_verifier: single(),
  refresh_token: single(),
  scope: single(),
  username: single(),
  password: single(),
  resource: single(),
  // RFC 8628 section 3.4.
  device_code: single(),
});
export type TokenBody = Static<typeof TokenBody>;

/** RFC 8628 section 3.1: client authentication, `scope` and `resource` (RFC 8707). */
export const DeviceAuthorizationBody = params({
  ...clientAuthentication,
  scope: single(),
  resource: single(),
});
export type DeviceAuthorizationBody = Static<typeof DeviceAuthorizationBody>;

/** The verification page's forms: the user code entered, or the consent form's answer. */
export const DeviceBody = params({ user_code: single(), ...consentFields });
export type DeviceBody = Static<typeof DeviceBody>;

export const DeviceQuery = params({ user_code: single() });
export type DeviceQuery = Static<typeof DeviceQuery>;

/** RFC 7009 section 2.1 and RFC 7662 section 2.1 share their parameters. */
export const TokenReferenceBody = params({
  ...clientAuthentication,
  token: single(),
  token_type_hint: single(),
});
export type TokenReferenceBody = Static<typeof TokenReferenceBody>;

/**
 * The 200 answer of introspection (RFC 7662 section 2.2), for Fastify's compiled serializer: about
 * a third of JSON.stringify's cost for this object. The properties in the order the core builds
 * them, none required, so the output is JSON.stringify's. Values the core takes from the
 * application or the store as they come (`exp`, `iat` from stored dates, `username` from
 * `findUsername`) have no type: the compiler writes them with JSON.stringify.
 */
export const IntrospectionResponseSchema = {
  type: 'object',
  properties: {
    active: { type: 'boolean' },
    scope: { type: 'string' },
    client_id: { type: 'string' },
    token_type: { type: 'string' },
    exp: {},
    iat: {},
    iss: { type: 'string' },
    // A string or an array of strings (RFC 7662 section 2.2).
    aud: {},
    sub: { type: 'string' },
    username: {},
  },
} as const;

const Text = () => Type.Optional(Type.Union([Type.String(), Type.Null()]));
const TextList = () => Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()]));

/**
 * An RFC 7591 section 2 client metadata document, by shape only: the core checks the values and
 * answers `invalid_client_metadata`. Unknown fields are allowed (section 2: ignored).
 */
export const ClientMetadataBody = Type.Object(
  {
    redirect_uris: TextList(),
    post_logout_redirect_uris: TextList(),
    id_token_signed_response_alg: Text(),
    grant_types: TextList(),
    response_types: TextList(),
    token_endpoint_auth_method: Text(),
    application_type: Text(),
    client_name: Text(),
    client_uri: Text(),
    logo_uri: Text(),
    scope: Text(),
    contacts: TextList(),
    software_id: Text(),
    software_version: Text(),
    client_id: Text(),
    client_secret: Text(),
  },
  { additionalProperties: true },
);
export type ClientMetadataBody = Static<typeof ClientMetadataBody>;

export const ClientIdParams = Type.Object({ clientId: Type.String() });
export type ClientIdParams = Static<typeof ClientIdParams>;
