import type { StreamInfo } from '../../shared/signaling.js';
import type { StreamRecord } from '../store/sql/StreamStore.js';

/** The public part of a stream that signaling sends (never the stream key). */
export const streamInfo = (s: StreamRecord): StreamInfo => ({
  id: s.id,
  title: s.title,
  description: s.description,
  tags: s.tags,
  visibility: s.visibility,
  status: s.status,
  owner: s.ownerUsername,
});
