/**
 * HTTP caching for LL-HLS, as a pure function, so a CDN or nginx's proxy cache in front can serve many
 * viewers from one origin request per resource (RFC 8216bis 6.2.5.2 and Apple's LL-HLS CDN notes):
 *
 * - Parts, segments and init segments never change under their URI (numbers only grow in a session):
 *   `max-age=31536000, immutable`.
 * - A blocking playlist request (`_HLS_msn`, with or without `_HLS_part`) names the moment it waits for; its
 *   URL is its own cache key (cacheKey() keeps the directives, in a fixed order) and its answer stays right
 *   for as long as players still ask that URL, so it is cached for 3 target durations: the edge collapses the
 *   viewers' identical requests into one.
 * - A playlist without directives changes with every part: `max-age=1` (the shortest HTTP can say), which an
 *   LL player uses only for its first load; non-LL players reload per segment.
 * - An ended playlist no longer changes: 1 hour. The master playlist: 1 s while live.
 * - Errors (400 too far ahead, 404, 503 timed out) are `no-store`: a cached 503 would stall every viewer.
 * - Private streams: `private` instead of `public` (their URIs carry a viewer token).
 */
import type { DeliveryDirectives } from './blockingReload.js';

export type CacheSubject =
  | { kind: 'master'; ended: boolean }
  | { kind: 'media'; directives: DeliveryDirectives; ended: boolean }
  | { kind: 'init' | 'part' | 'segment' }
  | { kind: 'error' };

export interface CacheContext {
  targetDuration: number;
  private: boolean;
}

export const IMMUTABLE_MAX_AGE = 31536000;

export function cacheControl(subject: CacheSubject, ctx: CacheContext): string {
  const scope = ctx.private ? 'private' : 'public';
  switch (subject.kind) {
    case 'init':
    case 'part':
    case 'segment':
      return `${scope}, max-age=${IMMUTABLE_MAX_AGE}, immutable`;
    case 'master':
      return `${scope}, max-age=${subject.ended ? 3600 : 1}`;
    case 'media':
      if (subject.ended) return `${scope}, max-age=3600`;
      if (subject.directives.msn !== undefined) return `${scope}, max-age=${Math.ceil(3 * ctx.targetDuration)}`;
      return `${scope}, max-age=1`;
    case 'error':
      return 'no-store';
  }
}

/** The cache key of a playlist request: its path and its delivery directives in the spec's order. */
export function cacheKey(path: string, d: DeliveryDirectives): string {
  const params: string[] = [];
  if (d.msn !== undefined) params.push(`_HLS_msn=${d.msn}`);
  if (d.part !== undefined) params.push(`_HLS_part=${d.part}`);
  if (d.skip) params.push('_HLS_skip=YES');
  return params.length > 0 ? `${path}?${params.join('&')}` : path;
}
