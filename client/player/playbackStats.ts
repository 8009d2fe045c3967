/**
 * What a viewer receives. WebRTC: read from the receive transport's stats and the <video> element. HLS: from
 * the <video> element alone (frames it decoded, its size, its position); the audio figures are WebRTC's only
 * and stay 0 there.
 */
export interface PlaybackStats {
  /** Frames decoded: WebRTC's inbound-rtp counter, or the element's getVideoPlaybackQuality() (HLS). */
  framesDecoded: number;
  videoWidth: number;
  videoHeight: number;
  /** The <video>'s position, seconds. */
  currentTime: number;
  audioPacketsReceived: number;
  /** 0..1, as WebRTC reports it for the received audio. */
  audioLevel: number;
  /** Live HLS in hls.js: seconds from the playhead to the newest part it knows of, and what it aims at. */
  liveLatency?: number;
  liveLatencyTarget?: number;
}

interface InboundRtp {
  type: 'inbound-rtp';
  kind?: string;
  framesDecoded?: number;
  packetsReceived?: number;
  audioLevel?: number;
}

export function readPlaybackStats(report: RTCStatsReport | undefined, video: HTMLVideoElement): PlaybackStats {
  const stats = { ...readVideoStats(video), framesDecoded: 0 };
  report?.forEach((s: { type: string }) => {
    if (s.type !== 'inbound-rtp') return;
    const r = s as InboundRtp;
    if (r.kind === 'video') stats.framesDecoded += r.framesDecoded ?? 0;
    if (r.kind === 'audio') {
      stats.audioPacketsReceived += r.packetsReceived ?? 0;
      stats.audioLevel = Math.max(stats.audioLevel, r.audioLevel ?? 0);
    }
  });
  return stats;
}

export function readVideoStats(video: HTMLVideoElement): PlaybackStats {
  return {
    framesDecoded: typeof video.getVideoPlaybackQuality === 'function' ? video.getVideoPlaybackQuality().totalVideoFrames : 0,
    videoWidth: video.videoWidth,
    videoHeight: video.videoHeight,
    currentTime: video.currentTime,
    audioPacketsReceived: 0,
    audioLevel: 0,
  };
}
