/**
 * What a broadcaster sends, from its send transport's WebRTC stats: bitrate (from the bytes sent since the
 * previous sample), frame rate and size per simulcast layer, round-trip time and packet loss.
 */
export interface LayerStats {
  /** The simulcast rid ('r0' lowest), or '' without simulcast. */
  rid: string;
  width: number;
  height: number;
  fps: number;
  /** Bits per second since the previous sample. */
  bitrate: number;
  /** What the encoder may send now (bps: its setting capped by the bandwidth estimate), null if not reported. */
  targetBitrate: number | null;
}

export interface SendStats {
  /** Bits per second, audio and video. */
  bitrate: number;
  /** The video codec sent, e.g. "VP8", or null before any video. */
  videoCodec: string | null;
  /** Frame rate and size of the largest layer sent. */
  fps: number;
  width: number;
  height: number;
  /** Video layers, lowest first. */
  layers: LayerStats[];
  rttMs: number | null;
  /** Packets the server reported lost, and their share of those sent (0..100), since the start. */
  packetsLost: number;
  lossPercent: number | null;
}

/** Bytes sent per outbound stream at the previous sample, to turn counters into rates. */
export type StatsSnapshot = Map<string, { bytesSent: number; timestamp: number }>;

interface StatsEntry {
  type: string;
  id: string;
  timestamp: number;
  kind?: string;
  rid?: string;
  bytesSent?: number;
  packetsSent?: number;
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  targetBitrate?: number;
  packetsLost?: number;
  roundTripTime?: number;
  currentRoundTripTime?: number;
  state?: string;
  nominated?: boolean;
  codecId?: string;
  mimeType?: string;
}

export function computeSendStats(entries: Iterable<unknown>, previous: StatsSnapshot | undefined): { stats: SendStats; snapshot: StatsSnapshot } {
  const snapshot: StatsSnapshot = new Map();
  const layers: LayerStats[] = [];
  let bitrate = 0;
  let sent = 0;
  let lost = 0;
  let pairRtt: number | undefined;
  let remoteRtt: number | undefined;
  let videoCodecId: string | undefined;
  const codecs = new Map<string, string>();
  for (const raw of entries) {
    const s = raw as StatsEntry;
    if (s.type === 'codec' && s.mimeType) codecs.set(s.id, s.mimeType);
    if (s.type === 'outbound-rtp') {
      const bytes = s.bytesSent ?? 0;
      snapshot.set(s.id, { bytesSent: bytes, timestamp: s.timestamp });
      const before = previous?.get(s.id);
      const seconds = before ? (s.timestamp - before.timestamp) / 1000 : 0;
      const rate = before && seconds > 0 ? Math.max(0, ((bytes - before.bytesSent) * 8) / seconds) : 0;
      bitrate += rate;
      sent += s.packetsSent ?? 0;
      if (s.kind === 'video') {
        videoCodecId ??= s.codecId;
        layers.push({ rid: s.rid ?? '', width: s.frameWidth ?? 0, height: s.frameHeight ?? 0, fps: s.framesPerSecond ?? 0, bitrate: rate, targetBitrate: s.targetBitrate ?? null });
      }
    } else if (s.type === 'remote-inbound-rtp') {
      lost += Math.max(0, s.packetsLost ?? 0);
      if (s.roundTripTime !== undefined) remoteRtt = Math.max(remoteRtt ?? 0, s.roundTripTime);
    } else if (s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated && s.currentRoundTripTime !== undefined) {
      pairRtt = s.currentRoundTripTime;
    }
  }
  layers.sort((a, b) => a.rid.localeCompare(b.rid) || a.height - b.height);
  const top = layers.reduce<LayerStats | undefined>((best, l) => (!best || l.height > best.height ? l : best), undefined);
  const rtt = pairRtt ?? remoteRtt;
  return {
    stats: {
      bitrate,
      videoCodec: videoCodecId ? (codecs.get(videoCodecId)?.replace(/^video\//i, '') ?? null) : null,
      fps: top?.fps ?? 0,
      width: top?.width ?? 0,
      height: top?.height ?? 0,
      layers,
      rttMs: rtt === undefined ? null : Math.round(rtt * 1000),
      packetsLost: lost,
      lossPercent: sent + lost > 0 ? (100 * lost) / (sent + lost) : null,
    },
    snapshot,
  };
}
