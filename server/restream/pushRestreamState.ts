/**
 * Pushes a destination's state change (`restream:state`) to the sockets in the stream's room that may manage
 * the stream (its owner, admins): viewers share that room and must not learn of destinations. Sockets of
 * this node only (in cluster mode the broadcaster's socket is on the origin, where the restream runs).
 */
import type { RestreamStateEvent } from '../../shared/restream.js';
import { canManage } from '../auth/access.js';
import { streamRoom, type OnAirIo } from '../signaling/SignalingServer.js';

export function pushRestreamState(io: OnAirIo, ownerOf: (streamId: string) => string | undefined, e: RestreamStateEvent): void {
  const ownerId = ownerOf(e.streamId);
  if (ownerId === undefined) return;
  const room = io.sockets.adapter.rooms.get(streamRoom(e.streamId));
  for (const socketId of room ?? []) {
    const socket = io.sockets.sockets.get(socketId);
    if (socket && canManage(socket.data.user, { ownerId })) socket.emit('restream:state', e);
  }
}
