/**
 * Plays an HLS URL in a <video>: hls.js where Media Source Extensions exist, the browser's own HLS (Safari,
 * iOS) otherwise. The returned handle detaches and frees everything, and (hls.js only) lets the viewer pick
 * a rendition. hls.js (its light build, ≈ 370 kB) is loaded on first use only: the live player starts with WebRTC and most
 * viewers never need it.
 */
import { keepNearLiveEdge } from './liveCatchUp.js';

export interface HlsPlayback {
  /** "hls.js" or "native". */
  readonly engine: 'hls.js' | 'native';
  /** Heights of the renditions, in hls.js's level order (lowest bitrate first); empty with native HLS. */
  heights(): number[];
  /** The rendition playing now (an index into heights()), or null when not known. */
  currentLevel(): number | null;
  /** A fixed rendition (an index into heights()), or null for automatic choice by bandwidth. */
  setLevel(level: number | null): void;
  /** Live hls.js: seconds from the playhead to the live edge, and where it aims; null otherwise. */
  latency(): { seconds: number; target: number } | null;
  destroy(): void;
}

export interface AttachOptions {
  /** Live: stay close to the live edge (low latency). VOD: start at the beginning. */
  live: boolean;
  onFatalError?: (message: string) => void;
  /** The renditions became known, or the one playing changed. */
  onLevelsChange?: () => void;
}

/** Media Source Extensions with H.264 + AAC: what hls.js needs (its own isSupported(), without loading it). */
function mseSupported(): boolean {
  const MS = (globalThis as { ManagedMediaSource?: typeof MediaSource }).ManagedMediaSource ?? globalThis.MediaSource;
  return typeof MS?.isTypeSupported === 'function' && MS.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"');
}

export function canPlayHls(video: HTMLVideoElement): boolean {
  return mseSupported() || video.canPlayType('application/vnd.apple.mpegurl') !== '';
}

/**
 * hls.js's light build: 374 kB minified against 597 kB for the full one, which a viewer in Standard mode
 * fetched and compiled before its first frame. OnAir's playlists (muxed audio and video, LL-HLS, no
 * subtitles, DRM or alternate audio) need nothing the light build leaves out.
 */
let hlsJs: Promise<typeof import('hls.js/light')> | undefined;
const loadHlsJs = () => (hlsJs ??= import('hls.js/light'));

/**
 * Starts fetching and compiling hls.js now, where it will be needed (a player starting in Standard mode):
 * the ≈ 370 kB load then overlaps the socket's join and the first playlist instead of following them.
 */
export function preloadHls(): void {
  if (mseSupported()) loadHlsJs().catch(() => undefined); // a failure shows where attachHls awaits it
}

export async function attachHls(video: HTMLVideoElement, url: string, opts: AttachOptions): Promise<HlsPlayback> {
  if (mseSupported()) {
    const { default: Hls } = await loadHlsJs();
    const hls = new Hls({
      // Live: LL-HLS (parts, blocking playlist reloads; OnAir serves them for every rendition). hls.js aims at
      // the playlist's PART-HOLD-BACK (3 parts, 0.6 s behind the newest part), plus 0.2 s per stall: no
      // liveSyncDuration/liveSyncDurationCount here, since either overrides PART-HOLD-BACK in hls.js. (It was
      // set to 1.5 segments while hls.js at PART-HOLD-BACK never started: ffmpeg muxed audio seconds behind
      // the video at the start, so a muxed SourceBuffer had nothing playable near the live edge; fixed at the
      // source, server/llhls/ffmpegFmp4Args.ts. And liveMaxLatencyDurationCount without liveSyncDurationCount
      // makes the Hls constructor throw "Illegal hls.js config", so no bound on the latency is set: lag is
      // caught up by playing faster.) hls.js's own catch-up needs more than 1 s buffered, which a
      // 0.6 s target never has: it is off (maxLiveSyncPlaybackRate 1) and ./liveCatchUp.ts does it instead.
      // A stall moves the target back by one part (hls.js: 1 s per stall, up to a segment), so that one
      // hiccup does not cost a second of latency for the rest of the session.
      lowLatencyMode: opts.live,
      maxLiveSyncPlaybackRate: 1,
      liveSyncOnStallIncrease: 0.2,
      backBufferLength: opts.live ? 10 : 60,
      startPosition: opts.live ? -1 : 0,
    });
    let recoveries = 0;
    let destroyed = false;
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal || destroyed) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && recoveries++ < 3) return hls.recoverMediaError();
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && recoveries++ < 10) return hls.startLoad();
      opts.onFatalError?.(`HLS playback failed (${data.details})`);
    });
    const changed = () => opts.onLevelsChange?.();
    hls.on(Hls.Events.MANIFEST_PARSED, changed);
    hls.on(Hls.Events.LEVEL_SWITCHED, changed);
    hls.loadSource(url);
    hls.attachMedia(video);
    const latency = () => (!opts.live || hls.targetLatency === null || !hls.latestLevelDetails?.live ? null : { seconds: hls.latency, target: hls.targetLatency });
    const stopCatchUp = opts.live ? keepNearLiveEdge(video, latency) : () => undefined;
    return {
      engine: 'hls.js',
      heights: () => hls.levels.map((l) => l.height),
      currentLevel: () => (hls.currentLevel >= 0 ? hls.currentLevel : null),
      setLevel: (level) => {
        // nextLevel switches at the next fragment, without flushing what is buffered; -1 is automatic.
        hls.nextLevel = level ?? -1;
      },
      latency,
      destroy: () => {
        destroyed = true;
        stopCatchUp();
        hls.destroy();
      },
    };
  }
  video.src = url;
  return {
    engine: 'native',
    heights: () => [],
    currentLevel: () => null,
    setLevel: () => undefined,
    latency: () => null,
    destroy: () => {
      video.removeAttribute('src');
      video.load();
    },
  };
}
