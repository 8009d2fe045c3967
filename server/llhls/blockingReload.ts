/**
 * Blocking playlist reload and delta updates (RFC 8216bis 6.2.5.2, 6.2.5.1): the rules as pure functions,
 * plus one small waiter.
 *
 * parseDeliveryDirectives(query) — validates `_HLS_msn`, `_HLS_part`, `_HLS_skip` (zod): decimal integers,
 *   one value each, `_HLS_part` only with `_HLS_msn`, `_HLS_skip` YES or v2; anything else is a 400.
 * checkAdvance(source, directives) — 400 for a request too far ahead: `_HLS_msn` beyond the last segment
 *   of the playlist plus two (the open segment + 1, as gohlslib), or `_HLS_part` more than the Advance Part
 *   Limit (3) past the last part.
 * isSatisfied(source, directives) — the playlist holds segment M or later (msn only), or part N of segment M
 *   or any later part (msn + part). An ended playlist satisfies every request.
 * waitForPlaylist(source, directives, { timeoutMs, signal }) — resolves 'ready' as soon as isSatisfied, or
 *   'timeout' after `timeoutMs` (default 3 × target duration: the spec's limit, after which the server answers
 *   503), or 'aborted' when the request goes away. It subscribes to the packager and holds one timer, and
 *   releases both on every outcome, so a client that disconnects leaves nothing behind.
 * waitForPart(source, partId, …) — the same for a part named by EXT-X-PRELOAD-HINT before it exists.
 * waitForFirstPart(source, …) — until the rendition has its first part: the master playlist is served as soon
 *   as the first rendition has one, so a player may ask another rendition's playlist a few ms before that
 *   rendition's first part exists; it waits (bounded the same way) instead of getting a 404.
 */
import { z } from 'zod';
import type { PartEntry, PlaylistSource } from './RenditionPackager.js';

/** How far past the last part a client may ask (the spec's Advance Part Limit). */
export const ADVANCE_PART_LIMIT = 3;

export interface DeliveryDirectives {
  msn?: number;
  part?: number;
  skip: boolean;
}

const decimal = z.string().regex(/^\d{1,10}$/).transform(Number).refine(Number.isSafeInteger);
const querySchema = z
  .object({
    _HLS_msn: decimal.optional(),
    _HLS_part: decimal.optional(),
    _HLS_skip: z.enum(['YES', 'v2']).optional(),
  })
  .passthrough()
  .refine((q) => q._HLS_part === undefined || q._HLS_msn !== undefined, { message: '_HLS_part needs _HLS_msn' });

export type DirectivesResult = { ok: true; directives: DeliveryDirectives } | { ok: false; reason: string };

export function parseDeliveryDirectives(query: unknown): DirectivesResult {
  const r = querySchema.safeParse(query ?? {});
  if (!r.success) return { ok: false, reason: r.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ') };
  const d: DeliveryDirectives = { skip: r.data._HLS_skip !== undefined };
  if (r.data._HLS_msn !== undefined) d.msn = r.data._HLS_msn;
  if (r.data._HLS_part !== undefined) d.part = r.data._HLS_part;
  return { ok: true, directives: d };
}

/** undefined when the request may wait; else why it is a 400. */
export function checkAdvance(source: PlaylistSource, d: DeliveryDirectives): string | undefined {
  if (d.msn === undefined || source.ended) return undefined;
  const open = source.nextMsn;
  if (d.msn > open + 1) return `_HLS_msn ${d.msn} is more than two past the last segment (${open - 1})`;
  if (d.part === undefined || d.msn < open) return undefined;
  const partsOpen = source.building?.msn === open ? source.building.parts.length : 0;
  const limit = d.msn === open ? partsOpen - 1 + ADVANCE_PART_LIMIT : ADVANCE_PART_LIMIT - 1;
  if (d.part > limit) return `_HLS_part ${d.part} of segment ${d.msn} is more than ${ADVANCE_PART_LIMIT} parts past the last part`;
  return undefined;
}

export function isSatisfied(source: PlaylistSource, d: DeliveryDirectives): boolean {
  if (d.msn === undefined || source.ended) return true;
  const { msn, part } = d;
  const lastComplete = source.segments.at(-1);
  const building = source.building;
  if (part === undefined) return lastComplete !== undefined && lastComplete.msn >= msn;
  if (building && building.parts.length > 0) {
    if (building.msn > msn) return true;
    if (building.msn === msn && building.parts.length > part) return true;
  }
  if (!lastComplete) return false;
  return lastComplete.msn > msn || (lastComplete.msn === msn && lastComplete.parts.length > part);
}

export type WaitOutcome = 'ready' | 'timeout' | 'aborted';

export interface WaitOptions {
  /** Default: 3 × the target duration. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export const blockingTimeoutMs = (source: PlaylistSource): number => 3 * source.targetDuration * 1000;

/** Waits until `ready()` holds, re-checked on each packager event. */
function waitUntil(source: PlaylistSource, ready: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
  if (signal?.aborted) return Promise.resolve('aborted');
  if (ready()) return Promise.resolve('ready');
  return new Promise((resolve) => {
    const finish = (outcome: WaitOutcome): void => {
      unsubscribe();
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = (): void => finish('aborted');
    const unsubscribe = source.subscribe(() => {
      if (ready()) finish('ready');
    });
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function waitForPlaylist(source: PlaylistSource, d: DeliveryDirectives, options: WaitOptions = {}): Promise<WaitOutcome> {
  return waitUntil(source, () => isSatisfied(source, d), options.timeoutMs ?? blockingTimeoutMs(source), options.signal);
}

export interface PartSource extends PlaylistSource {
  getPart(id: number): PartEntry | undefined;
}

export type PartWait = { outcome: 'ready'; part: PartEntry } | { outcome: 'gone' | 'too-far' | 'timeout' | 'aborted' };

/** A part by number: now, or once it is written if it is the hinted next part; 'gone' once it left the window. */
export async function waitForPart(source: PartSource, partId: number, options: WaitOptions = {}): Promise<PartWait> {
  if (partId > source.nextPartId) return { outcome: 'too-far' };
  const outcome = await waitUntil(
    source,
    () => source.getPart(partId) !== undefined || source.nextPartId > partId || source.ended,
    options.timeoutMs ?? blockingTimeoutMs(source),
    options.signal,
  );
  if (outcome !== 'ready') return { outcome };
  const part = source.getPart(partId);
  return part ? { outcome: 'ready', part } : { outcome: 'gone' };
}

/** Whether the rendition has a part (in its open segment or its window), or has ended. */
export const hasFirstPart = (source: PlaylistSource): boolean =>
  source.ended || source.segments.length > 0 || (source.building?.parts.length ?? 0) > 0;

export function waitForFirstPart(source: PlaylistSource, options: WaitOptions = {}): Promise<WaitOutcome> {
  return waitUntil(source, () => hasFirstPart(source), options.timeoutMs ?? blockingTimeoutMs(source), options.signal);
}
