/**
 * What a broadcast feeds: the HLS bridge (and its recording), WHEP viewers' pipes, and the outputs to come
 * (restreams to other platforms, cluster edges, LL-HLS). The broadcast owns its outputs:
 *
 * - `broadcast.addOutput(output)` hands an output to the broadcast, which from then on pushes every change of
 *   its media to it (`update`): a track appeared or closed, the publisher republished (new producers, maybe on
 *   a new router after a worker died), the publisher dropped (no producers until it comes back).
 * - At the end the broadcast awaits every output's `close()` while media still flows (ffmpeg honours SIGINT
 *   only between packets, and writes its last segment and `#EXT-X-ENDLIST` then), and only then closes its
 *   router. An output handed to a broadcast that has already ended is closed at once.
 * - An output never looks the broadcast up in a registry: what it needs comes through `update`.
 *
 * `update` must not throw and should return quickly (start its work in the background, serialised inside the
 * output); `close` is awaited, must be idempotent, and must settle in bounded time.
 */
import type { types } from 'mediasoup';
import type { BroadcastState } from '../../shared/signaling.js';

/** The broadcast's media at one moment, as pushed to its outputs. */
export interface BroadcastMedia {
  readonly streamId: string;
  /** Changes when the broadcast moved to a new router (a worker died). */
  readonly router: types.Router;
  readonly state: BroadcastState;
  /** The first live video and audio producers (undefined while the publisher is away). */
  readonly video: types.Producer | undefined;
  readonly audio: types.Producer | undefined;
  /** The capture height the publisher announced for `video`, if any. */
  readonly videoHeight: number | undefined;
}

export interface BroadcastOutput {
  /** For logs and metrics: "hls", "whep:<session>", "restream:<id>"… */
  readonly name: string;
  /** The broadcast's media changed. Called at once on `addOutput` with the current media. */
  update(media: BroadcastMedia): void;
  /** Finish and let go of everything (while the media still flows, when the broadcast ends). Idempotent. */
  close(reason: string): Promise<void>;
}
