/**
 * Keeps a live hls.js playback at its target latency (LL-HLS: PART-HOLD-BACK, 0.6 s behind the newest part)
 * by playing slightly faster while it is behind.
 *
 * Why OnAir's own: hls.js's latency controller changes the rate only while more than 1 s is buffered ahead of
 * the playhead (`forwardBufferLength > 1`, hard-coded in hls.js 1.7). At a sub-second target there is never
 * that much, so a playback that fell behind (it started late, or stalled: the playhead stops while the live
 * edge moves on) stayed behind for good: bench/NOTES.md (HLS) measured hls.js sitting 0.93 s behind the edge
 * against a 0.6–0.67 s target. attachHls turns hls.js's controller off (maxLiveSyncPlaybackRate 1) and runs
 * this one on the video's `timeupdate`.
 *
 * The rule (pure: `catchUpRate`): behind the target by more than 0.1 s, with at least MIN_BUFFER_S buffered
 * (so speeding up cannot run the buffer dry and stall), play at 1 + distance / 2, in steps of 0.05, at most
 * 1.25× (speech stays natural: browsers keep the pitch). Further behind than MAX_DISTANCE_S is a viewer who
 * rewound (DVR): left alone. Never slower than 1×: ahead of the target means the part came early.
 */

/** Behind the target by less than this: close enough. */
export const DEAD_ZONE_S = 0.1;
/** Buffered ahead of the playhead needed before playing faster. */
export const MIN_BUFFER_S = 0.3;
export const MAX_RATE = 1.25;
/** Further behind than this is rewound playback, not lag. */
export const MAX_DISTANCE_S = 1.5;

export interface LatencyState {
  /** Seconds between the playhead and the live edge (hls.js's `latency`). */
  latency: number;
  /** Where the playhead should be (hls.js's `targetLatency`: PART-HOLD-BACK plus its stall allowance). */
  target: number;
  /** Seconds buffered ahead of the playhead. */
  bufferAhead: number;
}

export function catchUpRate({ latency, target, bufferAhead }: LatencyState): number {
  const distance = latency - target;
  if (!(distance > DEAD_ZONE_S) || distance > MAX_DISTANCE_S || !(bufferAhead >= MIN_BUFFER_S)) return 1;
  const rate = Math.round((1 + distance / 2) * 20) / 20;
  return Math.min(MAX_RATE, Math.max(1, rate));
}

/** Seconds buffered ahead of the playhead in the range that holds it (0 when it sits in a gap). */
export function bufferAheadOf(video: HTMLVideoElement): number {
  const t = video.currentTime;
  for (let i = 0; i < video.buffered.length; i++) {
    if (video.buffered.start(i) <= t + 0.05 && t < video.buffered.end(i)) return video.buffered.end(i) - t;
  }
  return 0;
}

/**
 * Applies catchUpRate on every `timeupdate` of `video` while it plays; `read()` gives hls.js's distance to the
 * live edge and its target, seconds (HlsPlayback.latency: null before it knows the live edge). Returns the
 * function that stops it and puts the rate back to 1.
 */
export function keepNearLiveEdge(video: HTMLVideoElement, read: () => { seconds: number; target: number } | null): () => void {
  const onTime = () => {
    const now = read();
    if (!now || video.paused) return;
    const rate = catchUpRate({ latency: now.seconds, target: now.target, bufferAhead: bufferAheadOf(video) });
    if (video.playbackRate !== rate) video.playbackRate = rate;
  };
  video.addEventListener('timeupdate', onTime);
  return () => {
    video.removeEventListener('timeupdate', onTime);
    video.playbackRate = 1;
  };
}
