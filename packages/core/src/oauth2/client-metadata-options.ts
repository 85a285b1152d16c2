import type { ClientIdMetadataDocumentOptions } from '../server-types.js';

/** Checks `clientIdMetadataDocuments`; null when it is absent or not enabled. Throws a TypeError naming the bad field. */
export function checkClientMetadataOptions(input: ClientIdMetadataDocumentOptions | undefined): ClientIdMetadataDocumentOptions | null {
  if (input === undefined) return null;
  const where = 'options.clientIdMetadataDocuments';
  if (typeof input !== 'object' || input === null) throw new TypeError(`${where} must be an object such as { enabled: true }`);
  if (typeof input.enabled !== 'boolean') throw new TypeError(`${where}.enabled must be a boolean`);
  for (const name of ['allowHost', 'isTrustedHost', 'onFetch'] as const) {
    if (input[name] !== undefined && typeof input[name] !== 'function') throw new TypeError(`${where}.${name} must be a function`);
  }
  for (const name of ['maxBytes', 'timeout', 'cacheSize'] as const) {
    const value = input[name];
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) throw new TypeError(`${where}.${name} must be a positive whole number`);
  }
  if (input.allowLoopbackForDevelopment !== undefined && typeof input.allowLoopbackForDevelopment !== 'boolean') {
    throw new TypeError(`${where}.allowLoopbackForDevelopment must be a boolean`);
  }
  const { min, max } = input.cacheTtl ?? {};
  for (const [name, value] of [['min', min], ['max', max]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new TypeError(`${where}.cacheTtl.${name} must be a whole number of seconds`);
  }
  if (min !== undefined && max !== undefined && min > max) throw new TypeError(`${where}.cacheTtl.min must not exceed cacheTtl.max`);
  return input.enabled ? input : null;
}
