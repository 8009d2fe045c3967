/**
 * Where webhook events come from, wired once in app.ts: the live layer's own events (Broadcasts emits
 * `started` when a new broadcast makes a stream live and `ended` at its end) and the HLS service's
 * `onRecording` callback (a recording ready or deleted). Nothing here looks anything up in a registry of
 * broadcasts: each event carries its stream id, and the stream's title is read from the store at that moment.
 * A stream's reads run one at a time in the order of its events (KeyedSerial), so its stream.live is emitted
 * before its stream.ended even when the reads take their time; a failed read is logged, never thrown.
 * restream.failed comes from RestreamService's `state` events (the same ones the owner's studio gets).
 */
import type { RecordingEvent } from '../hls/HlsService.js';
import type { RestreamStateEvent } from '../../shared/restream.js';
import { KeyedSerial } from '../limits/KeyedSerial.js';
import type { Logger } from '../log/logger.js';
import type { WebhookEmitter } from './events.js';

/** What the live layer emits that webhooks need (Broadcasts' events of these names). */
export interface LiveEvents {
  on(event: 'started', listener: (e: { streamId: string }) => void): unknown;
  on(event: 'ended', listener: (e: { streamId: string; reason: string }) => void): unknown;
  off(event: 'started', listener: (e: { streamId: string }) => void): unknown;
  off(event: 'ended', listener: (e: { streamId: string; reason: string }) => void): unknown;
}

/** Subscribes to the live layer's events; returns the unsubscribe. */
export function webhooksFromLive(
  live: LiveEvents,
  streams: { byId(id: string): Promise<{ title: string; startedAt: string | null } | undefined> },
  webhooks: WebhookEmitter,
  logger: Logger,
): () => void {
  const perStream = new KeyedSerial();
  const inOrder = (streamId: string, what: string, task: () => Promise<void>) =>
    void perStream.run(streamId, task).catch((err: unknown) => logger.error({ err, streamId }, `could not emit the ${what} webhook`));
  const started = ({ streamId }: { streamId: string }) =>
    inOrder(streamId, 'stream.live', async () => {
      const s = await streams.byId(streamId);
      if (s) webhooks.emit('stream.live', { streamId, title: s.title, startedAt: s.startedAt ?? new Date().toISOString() });
    });
  const ended = ({ streamId, reason }: { streamId: string; reason: string }) => {
    const endedAt = new Date().toISOString();
    inOrder(streamId, 'stream.ended', async () => {
      webhooks.emit('stream.ended', { streamId, title: (await streams.byId(streamId))?.title ?? null, reason, endedAt });
    });
  };
  live.on('started', started);
  live.on('ended', ended);
  return () => {
    live.off('started', started);
    live.off('ended', ended);
  };
}

/** The HlsService `onRecording` option: recordings ready or deleted, as webhook events. */
export function webhooksFromRecordings(webhooks: WebhookEmitter): (event: RecordingEvent) => void {
  return (e) => {
    if (e.type === 'deleted') {
      webhooks.emit('recording.deleted', { recordingId: e.recordingId, streamId: e.streamId });
      return;
    }
    const r = e.recording;
    webhooks.emit('recording.ready', {
      recordingId: r.id,
      streamId: r.streamId,
      title: r.title,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      durationSeconds: r.durationSeconds,
      renditions: r.renditions,
      sizeBytes: r.sizeBytes,
    });
  };
}

/** What the restream service emits that webhooks need (RestreamService's `state`). */
export interface RestreamEvents {
  on(event: 'state', listener: (e: RestreamStateEvent) => void): unknown;
  off(event: 'state', listener: (e: RestreamStateEvent) => void): unknown;
}

/**
 * restream.failed: a destination's first failure in a row (or a failure OnAir will not retry, such as a
 * destination it cannot use). A destination that stays down is retried with back-off and fails again at each
 * attempt: those repeats send no new event (the studio and the API show them), so a long outage is one
 * event, not dozens. Returns the unsubscribe.
 */
export function webhooksFromRestream(restream: RestreamEvents, webhooks: WebhookEmitter): () => void {
  const state = ({ streamId, destinationId, status }: RestreamStateEvent) => {
    if (status.state !== 'failed' || status.failures > 1) return;
    webhooks.emit('restream.failed', { streamId, destinationId, reason: status.reason ?? 'failed', retrying: status.failures > 0 });
  };
  restream.on('state', state);
  return () => restream.off('state', state);
}
