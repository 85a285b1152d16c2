import { isScopeToken } from '@portcullis/scopes';
import { ScopeAutoError } from './errors.js';
import type { RequireScopeOptions } from './types.js';

// Leading segments that name an API surface, not an application: `api`, `v1`, `v2.1`.
const API_PREFIX = /^(api|v\d+(\.\d+)*)$/i;

/** Whether a route URL segment is literal text (not `:param`, `*`, or a mixed `file.:ext`). */
function isStaticSegment(segment: string): boolean {
  return segment !== '' && segment !== '*' && !segment.includes(':');
}

/**
 * The scope `requireScope({ auto: true })` asks for on a route, mirroring oauthost's
 * `scope_auto` (`app_label:view_name`): `<app>:<view>`, where, in the full route URL (prefixes
 * included), leading `api` and version segments (`v1`, `v2.1`) are skipped, `app` is the first
 * static segment left and `view` the last one. Parameters never count.
 *
 *   /api/polls/:id/results  -> polls:results
 *   /v2/polls/:id/vote      -> polls:vote
 *   /polls/stats            -> polls:stats
 *
 * A route with a single static segment (`/polls/:id`) has no view name: it needs `view` (or a
 * named scope). `app` and `view` in the options replace the derived parts.
 */
export function deriveAutoScope(url: string, options: RequireScopeOptions): string {
  const segments = url.split('?', 1)[0]!.split('/').filter(isStaticSegment);
  let first = 0;
  while (first < segments.length && API_PREFIX.test(segments[first]!)) first++;
  const meaningful = segments.slice(first);
  const app = options.app ?? meaningful[0];
  const viewSegments = options.app === undefined ? meaningful.slice(1) : meaningful;
  const view = options.view ?? viewSegments[viewSegments.length - 1];
  if (app === undefined) throw new ScopeAutoError(url, 'it has no static segment to name the application');
  if (view === undefined) throw new ScopeAutoError(url, 'it has no static segment after the application to name the view');
  const scope = `${app}:${view}`;
  if (!isScopeToken(scope)) throw new ScopeAutoError(url, `${JSON.stringify(scope)} is not an RFC 6749 scope-token`);
  return scope;
}
