/**
 * Plays an HLS URL in a <video>: hls.js where Media Source Extensions exist, the browser's own HLS (Safari,
 * iOS) otherwise. Returns a function that detaches and frees everything.
 */
import Hls from 'hls.js';

export interface HlsPlayback {
  /** "hls.js" or "native". */
  engine: 'hls.js' | 'native';
  destroy(): void;
}

export interface AttachOptions {
  /** Live: stay close to the live edge (low latency). VOD: start at the beginning. */
  live: boolean;
  onFatalError?: (message: string) => void;
}

export function canPlayHls(video: HTMLVideoElement): boolean {
  return Hls.isSupported() || video.canPlayType('application/vnd.apple.mpegurl') !== '';
}

export function attachHls(video: HTMLVideoElement, url: string, opts: AttachOptions): HlsPlayback {
  if (Hls.isSupported()) {
    const hls = new Hls({
      lowLatencyMode: false,
      liveSyncDurationCount: 2,
      liveMaxLatencyDurationCount: 5,
      maxLiveSyncPlaybackRate: 1.2,
      backBufferLength: opts.live ? 10 : 60,
      startPosition: opts.live ? -1 : 0,
      manifestLoadingRetryDelay: 500,
      manifestLoadingMaxRetry: 20,
    });
    let recoveries = 0;
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && recoveries++ < 3) return hls.recoverMediaError();
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && recoveries++ < 10) return hls.startLoad();
      opts.onFatalError?.(`HLS playback failed (${data.details})`);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    return { engine: 'hls.js', destroy: () => hls.destroy() };
  }
  video.src = url;
  return {
    engine: 'native',
    destroy: () => {
      video.removeAttribute('src');
      video.load();
    },
  };
}
