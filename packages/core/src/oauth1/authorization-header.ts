import { OAuthError } from '../errors.js';
import { percentDecode, percentEncode } from './percent-encoding.js';
import type { ParameterList } from './signature-base-string.js';

const SCHEME = /^\s*OAuth(?:\s+|$)/i;
// One auth-param (RFC 5849 section 3.5.1, RFC 7235 section 2.1): a name, `=`, and a quoted or a
// bare value, then a comma or the end. Empty list elements (`a="1", , b="2"`) are allowed by
// the `#rule` of RFC 7230.
const PARAM = /\s*([^\s=,"]+)\s*=\s*(?:"([^"]*)"|([^\s,"]*))\s*(?:,|$)/y;
const EMPTY_ELEMENT = /\s*,/y;

/**
 * Parses an `Authorization: OAuth ...` header value into decoded name/value pairs, `realm`
 * included (the caller leaves it out of the signature). Returns null when the scheme is not
 * OAuth (a Bearer header is none of our business). Throws `parameter_rejected` when the value
 * is not a well-formed list of percent-encoded parameters.
 */
export function parseAuthorizationHeader(header: string): ParameterList | null {
  const scheme = SCHEME.exec(header);
  if (!scheme) return null;
  const parameters: Array<[string, string]> = [];
  let position = scheme[0].length;
  while (position < header.length) {
    EMPTY_ELEMENT.lastIndex = position;
    if (EMPTY_ELEMENT.test(header)) {
      position = EMPTY_ELEMENT.lastIndex;
      continue;
    }
    if (/^\s*$/.test(header.slice(position))) break;
    PARAM.lastIndex = position;
    const match = PARAM.exec(header);
    if (!match || match[0] === '') {
      throw new OAuthError('parameter_rejected', {
        description: 'The Authorization header is not a list of name="value" parameters (RFC 5849 section 3.5.1).',
      });
    }
    position = PARAM.lastIndex;
    const name = decodeHeaderPart(match[1] ?? '');
    const raw = match[2] ?? match[3] ?? '';
    // realm is an RFC 2617 quoted-string, not a percent-encoded value, and it is not signed.
    parameters.push([name, name === 'realm' ? raw : decodeHeaderPart(raw)]);
  }
  return parameters;
}

/**
 * Formats protocol parameters as an `Authorization: OAuth` header (section 3.5.1): names and
 * values percent-encoded, values quoted, `realm` first when given.
 */
export function formatAuthorizationHeader(parameters: ParameterList | Record<string, string>, realm?: string): string {
  const entries = Array.isArray(parameters) ? (parameters as ParameterList) : Object.entries(parameters);
  const parts = entries.map(([name, value]) => `${percentEncode(name)}="${percentEncode(value)}"`);
  if (realm !== undefined) parts.unshift(`realm="${realm.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
  return `OAuth ${parts.join(', ')}`;
}

function decodeHeaderPart(value: string): string {
  try {
    return percentDecode(value);
  } catch (cause) {
    throw new OAuthError('parameter_rejected', {
      description: 'A parameter of the Authorization header has a broken percent-encoding.',
      cause,
    });
  }
}
