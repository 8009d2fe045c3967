/**
 * The events OnAir sends to webhooks, and what each carries in `data`. This is the contract with receivers:
 * add fields, never rename or remove one. Every event is about one stream (`streamId`): it goes to the hooks
 * of that stream's owner and to the server-wide hook.
 *
 * The body of every delivery: `{ id, type, createdAt, data }` (WebhookBody): `id` is the event's id, the same
 * in every retry and in the `OnAir-Event-Id` header, for receivers to drop duplicates.
 */
export const WEBHOOK_EVENT_TYPES = ['stream.live', 'stream.ended', 'recording.ready', 'recording.deleted', 'restream.failed'] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEventData {
  /** A broadcast started (not a publisher resuming within the reconnect grace: the stream stayed live). */
  'stream.live': { streamId: string; title: string; startedAt: string };
  /** The broadcast ended (`reason` as the viewers were told). `title` is null when the stream is gone. */
  'stream.ended': { streamId: string; title: string | null; reason: string; endedAt: string };
  /** A recording is finished and watchable. */
  'recording.ready': {
    recordingId: string;
    streamId: string;
    title: string;
    startedAt: string;
    endedAt: string | null;
    durationSeconds: number;
    renditions: number[];
    sizeBytes: number;
  };
  /** A recording was deleted (through the API). Recordings that go with their deleted stream send none. */
  'recording.deleted': { recordingId: string; streamId: string };
  /**
   * A restream destination failed: its first failure in a row (`retrying`: OnAir tries it again, with
   * back-off; the repeats of a destination that stays down send no new event), or one it will not retry.
   * Never carries the destination's key.
   */
  'restream.failed': { streamId: string; destinationId: string; reason: string; retrying: boolean };
}

export interface WebhookBody<T extends WebhookEventType = WebhookEventType> {
  id: string;
  type: T;
  createdAt: string;
  data: WebhookEventData[T];
}

/** What producers of events call (Webhooks implements it); it never throws and never waits on the network. */
export interface WebhookEmitter {
  emit<T extends WebhookEventType>(type: T, data: WebhookEventData[T]): void;
}
