/**
 * Viewers by delivery, as this node sees them: WebRTC (OnAir's player holding a seat), WHEP (seats held by
 * `whep:` sessions), HLS (playback sessions, server/hls/HlsViewerSessions). The stream API (`viewers`), the
 * studio's /viewers and the admin console show it per stream, /metrics as node totals (onair_viewers_by_delivery).
 */
import type { ViewersByDelivery } from '../../shared/api.js';
import type { Broadcasts } from '../live/Broadcasts.js';

/** The API's `viewers` (shared/api.ts): one shape for streams, the studio, the console and /metrics. */
export type DeliverySplit = ViewersByDelivery;

export function streamSplit(broadcasts: Pick<Broadcasts, 'get'>, streamId: string, hlsSessions: number): DeliverySplit {
  const b = broadcasts.get(streamId);
  if (!b || b.ended) return { webrtc: 0, whep: 0, hls: hlsSessions };
  const whep = b.seats.countHeldBy('whep:');
  return { webrtc: b.seats.count - whep, whep, hls: hlsSessions };
}

export function nodeSplit(broadcasts: Pick<Broadcasts, 'get'>, streamIds: Iterable<string>, hlsSessions: (streamId: string) => number): DeliverySplit {
  const total = { webrtc: 0, whep: 0, hls: 0 };
  for (const id of streamIds) {
    const s = streamSplit(broadcasts, id, hlsSessions(id));
    total.webrtc += s.webrtc;
    total.whep += s.whep;
    total.hls += s.hls;
  }
  return total;
}
