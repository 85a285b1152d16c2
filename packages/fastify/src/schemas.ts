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
};

export const AuthorizeQuery = params(authorizationParams);
export type AuthorizeQuery = Static<typeof AuthorizeQuery>;

/** An authorization request sent as a form, or the consent form's answer. */
export const AuthorizeBody = params({
  ...authorizationParams,
  decision: Type.Optional(Type.Union([Type.Literal('approve'), Type.Literal('deny')])),
  csrf_token: Type.Optional(Type.String()),
  granted_scope: Type.Optional(ParamValue),
  narrow_scope: Type.Optional(Type.String()),
});
export type AuthorizeBody = Static<typeof AuthorizeBody>;

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
});
export type TokenBody = Static<typeof TokenBody>;

/** RFC 7009 section 2.1 and RFC 7662 section 2.1 share their parameters. */
export const TokenReferenceBody = params({
  ...clientAuthentication,
  token: single(),
  token_type_hint: single(),
});
export type TokenReferenceBody = Static<typeof TokenReferenceBody>;
