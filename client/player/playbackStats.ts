/** What a viewer receives, read from the receive transport's stats and the <video> element. */
export interface PlaybackStats {
  framesDecoded: number;
  videoWidth: number;
  videoHeight: number;
  audioPacketsReceived: number;
  /** 0..1, as WebRTC reports it for the received audio. */
  audioLevel: number;
}

interface InboundRtp {
  type: 'inbound-rtp';
  kind?: string;
  framesDecoded?: number;
  packetsReceived?: number;
  audioLevel?: number;
}

export function readPlaybackStats(report: RTCStatsReport | undefined, video: HTMLVideoElement): PlaybackStats {
  const stats: PlaybackStats = {
    framesDecoded: 0,
    videoWidth: video.videoWidth,
    videoHeight: video.videoHeight,
    audioPacketsReceived: 0,
    audioLevel: 0,
  };
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
