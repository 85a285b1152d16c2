import type { EventListener, PortcullisEvent } from '@portcullis/core';
import type { FastifyBaseLogger } from 'fastify';

/**
 * The application's `onEvent`, made safe to call from a request: a throw or a rejection is
 * logged at `warn` (with the event's type, never its payload) and the response goes on unchanged.
 */
export function loggedListener(log: FastifyBaseLogger, listener: EventListener): EventListener {
  const report = (err: unknown, event: PortcullisEvent): void => log.warn({ err, eventType: event.type }, 'portcullis: onEvent failed');
  return (event) => {
    try {
      const result = listener(event);
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(undefined, (err: unknown) => report(err, event));
      }
    } catch (err) {
      report(err, event);
    }
  };
}
