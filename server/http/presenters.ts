/** Turns store records into the API's response shapes. */
import type { OwnedStream, PublicStream, PublicUser, StreamUrls } from '../../shared/api.js';
import type { StreamRecord } from '../store/sql/StreamStore.js';
import type { UserRecord } from '../store/sql/UserStore.js';

export const publicUser = (u: UserRecord): PublicUser => ({ id: u.id, username: u.username, role: u.role });

export function streamUrls(base: string, id: string): StreamUrls {
  return {
    watch: `${base}/watch/${id}`,
    embed: `${base}/embed/${id}`,
    hls: `${base}/hls/${id}/master.m3u8`,
    whip: `${base}/whip/${id}`,
    whep: `${base}/whep/${id}`,
  };
}

export function publicStream(s: StreamRecord, viewerCount: number, base: string): PublicStream {
  return {
    id: s.id,
    title: s.title,
    description: s.description,
    tags: s.tags,
    visibility: s.visibility,
    status: s.status,
    viewerCount,
    owner: { id: s.ownerId, username: s.ownerUsername },
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    urls: streamUrls(base, s.id),
  };
}

export const ownedStream = (s: StreamRecord, viewerCount: number, base: string): OwnedStream => ({
  ...publicStream(s, viewerCount, base),
  streamKey: s.streamKey,
});
