/** Turns store records into the API's response shapes. */
import type { OwnedStream, PublicStream, PublicUser, StreamUrls, ViewersByDelivery } from '../../shared/api.js';
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

/** What the live side says about a stream's audience: the count (every node) and this node's split. */
export interface Audience {
  viewerCount: number;
  viewers: ViewersByDelivery;
}

export function publicStream(s: StreamRecord, audience: Audience, base: string): PublicStream {
  return {
    id: s.id,
    title: s.title,
    description: s.description,
    tags: s.tags,
    visibility: s.visibility,
    status: s.status,
    viewerCount: audience.viewerCount,
    viewers: audience.viewers,
    owner: { id: s.ownerId, username: s.ownerUsername },
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    urls: streamUrls(base, s.id),
  };
}

export const ownedStream = (s: StreamRecord, audience: Audience, base: string): OwnedStream => ({
  ...publicStream(s, audience, base),
  streamKey: s.streamKey,
});
