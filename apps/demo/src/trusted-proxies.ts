import type { FastifyServerOptions } from 'fastify';
import { isIP } from 'node:net';

/**
 * The proxies in front of the demo: how many (a hop count), or their addresses and CIDR ranges.
 * Fastify takes the client address from X-Forwarded-For only past these, so a client cannot
 * choose the address the rate limits count by writing the header itself.
 */
export type TrustedProxies = number | string[];

// proxy-addr's names for whole ranges, which Fastify accepts in a list.
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * `TRUST_PROXY`: a hop count (`1` for one proxy in front; `0` for none), or a comma-separated list
 * of proxy addresses and CIDR ranges (`10.0.0.5, 10.1.0.0/16`, or `loopback`). Trusting every hop
 * (`true`) would let any client name its own address, so it is refused like any other bad value.
 */
export function parseTrustProxy(value: string): TrustedProxies | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (!Number.isSafeInteger(hops)) throw new Error(`TRUST_PROXY must be a hop count or a list of proxy addresses (got ${JSON.stringify(value)})`);
    return hops === 0 ? undefined : hops;
  }
  const entries = text.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (!isProxyAddress(entry)) {
      throw new Error(
        `TRUST_PROXY must be a hop count (1 for one proxy in front) or a comma-separated list of proxy addresses or CIDR ranges; ${JSON.stringify(entry)} is neither`,
      );
    }
  }
  return entries;
}

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (version === 4 ? 32 : 128);
}

/**
 * Fastify's `trustProxy` for these proxies. A list goes as it is (proxy-addr checks each hop's
 * address). A hop count trusts the `hops` nearest addresses (the peer, then X-Forwarded-For from
 * the right) and takes the next one as the client; Fastify itself reads a bare number as trusting
 * nothing. A count suits a demo reachable only through its proxies: whoever connects directly is
 * taken for one.
 */
export function fastifyTrustProxy(trusted: TrustedProxies | undefined): NonNullable<FastifyServerOptions['trustProxy']> {
  if (trusted === undefined) return false;
  if (typeof trusted === 'number') return (_address: string, hop: number) => hop < trusted;
  return trusted;
}
