/** The SharingCatalogue of a running OnAir: its stream and recording stores and its live HLS bridges. */
import fs from 'node:fs';
import path from 'node:path';
import type { HlsService } from '../hls/HlsService.js';
import type { RecordingStore } from '../store/sql/RecordingStore.js';
import type { StreamStore } from '../store/sql/StreamStore.js';
import type { SharingCatalogue } from './shareable.js';

export function catalogueFromStores(streams: StreamStore, recordings: RecordingStore, hls: HlsService): SharingCatalogue {
  return {
    stream: async (id) => await streams.byId(id),
    recording: async (id) => await recordings.byId(id),
    latestRecording: async (streamId) => (await recordings.listPublic({ streamId, limit: 1, offset: 0 })).recordings[0]?.id,
    hasLiveThumbnail: (streamId) => {
      const bridge = hls.liveSession(streamId);
      return bridge !== undefined && fs.existsSync(path.join(bridge.dir, 'thumb.jpg'));
    },
  };
}
