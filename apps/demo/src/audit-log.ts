import type { EventListener } from '@portcullis/core';
import type { FastifyBaseLogger } from 'fastify';

/**
 * The audit trail: every event of the OAuth server, one log line each, marked `audit: true` so a
 * log shipper can route them apart (`jq 'select(.audit)'`). Events carry ids, never a token or
 * a secret, so they are logged as they are.
 */
export function auditLog(log: FastifyBaseLogger): EventListener {
  return (event) => log.info({ audit: true, event }, `audit: ${event.type}`);
}
