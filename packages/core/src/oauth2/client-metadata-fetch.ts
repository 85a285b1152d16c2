import { lookup } from 'node:dns/promises';
import { request } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** How a client metadata document may be fetched. */
export interface DocumentFetchLimits {
  maxBytes: number;
  /** Milliseconds for the whole fetch: name resolution, connection, headers and body. */
  timeout: number;
  allowLoopback: boolean;
  /** Certificate authorities to trust instead of Node's bundle (a development server's own). */
  ca: string | Buffer | Array<string | Buffer> | undefined;
}

export interface FetchedDocument {
  body: unknown;
  cacheControl: string | undefined;
  /** The address the document came from. */
  address: string;
  status: number;
}

/** Why a document could not be fetched: safe to show, it names no secret. */
export class DocumentFetchError extends Error {
  constructor(
    message: string,
    readonly address: string | null = null,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'DocumentFetchError';
  }
}

/**
 * Whether an address may be connected to. Only global unicast addresses may: private, loopback,
 * link-local (169.254.169.254, the cloud metadata service, among them), unique-local (fd00:ec2::254
 * among them), CGNAT, multicast, reserved and the IPv6 forms that embed an IPv4 address (mapped,
 * 6to4, Teredo, NAT64) are all refused, an IPv4-mapped address being judged as the IPv4 address
 * it carries (the security considerations of draft-ietf-oauth-client-id-metadata-document on
 * server-side request forgery).
 */
export function isPublicAddress(address: string, allowLoopback: boolean): boolean {
  if (!ipaddr.isValid(address)) return false;
  const range = ipaddr.process(address).range();
  return range === 'unicast' || (allowLoopback && range === 'loopback');
}

/**
 * Fetches a client metadata document with GET over HTTPS, guarded against server-side request
 * forgery: the host name is resolved once, every address it resolves to must be public, and the
 * connection is made to the address checked, so a second resolution cannot point it elsewhere
 * (DNS rebinding). Redirects are not followed, the body is cut off past `maxBytes` while it
 * streams, and the whole fetch is bounded by `timeout`.
 */
export async function fetchClientMetadataDocument(url: URL, limits: DocumentFetchLimits): Promise<FetchedDocument> {
  if (url.protocol !== 'https:') throw new DocumentFetchError('the document must be served over https');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let timer: NodeJS.Timeout | undefined;
  let cancel: (() => void) | undefined;
  let expired = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      cancel?.();
      reject(new DocumentFetchError(`no answer within ${limits.timeout} ms`));
    }, limits.timeout);
  });
  const fetching = (async () => {
    const address = await resolvePublicAddress(host, limits.allowLoopback);
    // A resolution that outlived the deadline opens no connection.
    if (expired) throw new DocumentFetchError(`no answer within ${limits.timeout} ms`);
    return await get(url, host, address, limits, (abort) => {
      cancel = abort;
    });
  })();
  try {
    return await Promise.race([fetching, deadline]);
  } finally {
    clearTimeout(timer);
    // The loser of the race settles later; its outcome is already decided.
    fetching.catch(() => {});
  }
}

async function resolvePublicAddress(host: string, allowLoopback: boolean): Promise<{ address: string; family: number }> {
  let addresses: { address: string; family: number }[];
  if (isIP(host) !== 0) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch {
      throw new DocumentFetchError(`the host ${host} does not resolve`);
    }
  }
  // Every address must pass, not only the first: the connection would otherwise be one retry
  // away from a refused one.
  const refused = addresses.find((entry) => !isPublicAddress(entry.address, allowLoopback));
  if (refused !== undefined) throw new DocumentFetchError(`the host ${host} resolves to a non-public address`, refused.address);
  const [first] = addresses;
  if (first === undefined) throw new DocumentFetchError(`the host ${host} does not resolve`);
  return first;
}

function get(
  url: URL,
  host: string,
  pinned: { address: string; family: number },
  limits: DocumentFetchLimits,
  onStart: (abort: () => void) => void,
): Promise<FetchedDocument> {
  // The connection goes to the checked address whatever the resolver would answer now.
  const pinnedLookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all === true) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        protocol: 'https:',
        hostname: host,
        port: url.port === '' ? 443 : Number(url.port),
        path: url.pathname + url.search,
        method: 'GET',
        headers: { accept: 'application/json' },
        lookup: pinnedLookup,
        agent: false,
        ...(isIP(host) === 0 && { servername: host }),
        ...(limits.ca !== undefined && { ca: limits.ca }),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const fail = (message: string) => {
          response.destroy();
          reject(new DocumentFetchError(message, pinned.address, status));
        };
        if (status >= 300 && status < 400) return fail(`the document URL answered with a redirect (HTTP ${status}), which is not followed`);
        if (status !== 200) return fail(`the document URL answered HTTP ${status}`);
        // The draft's section 4: application/json or a more specific application/<name>+json.
        const mediaType = (response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (!/^application\/([a-z0-9.+-]+\+)?json$/.test(mediaType)) return fail('the document is not served as application/json');
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > limits.maxBytes) return fail(`the document is larger than ${limits.maxBytes} bytes`);
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.maxBytes) return fail(`the document is larger than ${limits.maxBytes} bytes`);
          chunks.push(chunk);
        });
        response.on('error', () => fail('the document could not be read'));
        response.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return reject(new DocumentFetchError('the document is not JSON', pinned.address, status));
          }
          const cacheControl = response.headers['cache-control'];
          resolve({ body, cacheControl, address: pinned.address, status });
        });
      },
    );
    onStart(() => outgoing.destroy());
    outgoing.on('error', (error) =>
      reject(new DocumentFetchError(`the document could not be fetched (${(error as NodeJS.ErrnoException).code ?? 'connection failed'})`, pinned.address)),
    );
    outgoing.end();
  });
}
