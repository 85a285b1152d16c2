/**
 * RFC 5849 section 3.6: every byte of the UTF-8 form is escaped as `%XX` (uppercase hex) except
 * the unreserved characters of RFC 3986 (ALPHA, DIGIT, `-`, `.`, `_`, `~`). This differs from
 * `encodeURIComponent`, which keeps `!'()*`, and from form encoding, which writes a space as `+`.
 */

// One entry per byte value, built once: the encoder is on the path of every signed request.
const ENCODED_BYTE: readonly string[] = Array.from({ length: 256 }, (_, byte) => {
  const char = String.fromCharCode(byte);
  return /^[A-Za-z0-9\-._~]$/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
});

const utf8 = new TextEncoder();

// Most values (keys, tokens, nonces, timestamps) need no escaping at all.
const UNRESERVED_ONLY = /^[A-Za-z0-9\-._~]*$/;
// encodeURIComponent keeps these, RFC 3986 reserves them, and section 3.6 escapes them.
const KEPT_BY_ENCODE_URI_COMPONENT = /[!'()*]/g;
const escapeByte = (char: string): string => ENCODED_BYTE[char.charCodeAt(0)]!;

/**
 * Encodes a string as RFC 5849 section 3.6 says. A lone surrogate (not valid Unicode, so it has
 * no UTF-8 form) becomes U+FFFD, as the WHATWG encoder does; the signature then simply fails.
 */
export function percentEncode(value: string): string {
  if (UNRESERVED_ONLY.test(value)) return value;
  let encoded: string;
  try {
    // Native, faster than a byte table, and with uppercase hex as section 3.6 asks.
    encoded = encodeURIComponent(value);
  } catch {
    // URIError: a lone surrogate, which only the byte-by-byte path turns into U+FFFD.
    return encodeBytes(value);
  }
  return encoded.replace(KEPT_BY_ENCODE_URI_COMPONENT, escapeByte);
}

function encodeBytes(value: string): string {
  let encoded = '';
  for (const byte of utf8.encode(value)) encoded += ENCODED_BYTE[byte];
  return encoded;
}

/**
 * Decodes `%XX` escapes as UTF-8 (the inverse of section 3.6, used for the `Authorization` header
 * whose names and values are percent-encoded). `+` stays a plus sign: the header is not form
 * encoded. Throws `URIError` on a broken escape or invalid UTF-8.
 */
export function percentDecode(value: string): string {
  return value.includes('%') ? decodeURIComponent(value) : value;
}
