/**
 * Pushes a destination's state change (`restream:state`) to the sockets that may manage the stream (its owner,
 * admins), wherever their page is; viewers never learn of destinations.
 *
 * In cluster mode the restream runs on the stream's origin, and its owner's pages may be connected to any
 * node: `shareRestreamState` pushes to this node's sockets and hands the event to the other nodes over the
 * socket.io adapter (`serverSideEmit`), where each pushes it to its own sockets after validating it (it came
 * over the network) and checking who may see it against the catalogue. On one machine there is no adapter
 * and no other node: `serverSideEmit` reaches nobody.
 */
import { restreamStateEventSchema, type RestreamStateEvent } from '../../shared/restream.js';
import { canManage } from '../auth/access.js';
import type { OnAirIo } from '../signaling/SignalingServer.js';

type OwnerOf = (streamId: string) => string | undefined | Promise<string | undefined>;

/** One machine: pushes to this node's sockets. `onError` hears a failed catalogue look-up (never thrown). */
export function pushRestreamState(io: OnAirIo, ownerOf: OwnerOf, e: RestreamStateEvent, onError: (err: unknown) => void): void {
  Promise.resolve(ownerOf(e.streamId))
    .then((ownerId) => {
      if (ownerId !== undefined) pushTo(io, ownerId, e);
    })
    .catch(onError);
}

/**
 * Every socket of this node that may manage the stream, in its room or not: the studio of a stream fed by an
 * encoder (OBS over RTMP, WHIP) publishes nothing and so is in no stream room, yet shows the destinations.
 * A walk over this node's sockets per state change (changes are rare: connect, live, fail, retry).
 */
function pushTo(io: OnAirIo, ownerId: string, e: RestreamStateEvent): void {
  for (const socket of io.sockets.sockets.values()) {
    if (canManage(socket.data.user, { ownerId })) socket.emit('restream:state', e);
  }
}

/**
 * Wires the cluster-wide push: returns the handler for this node's state changes, and listens for the other
 * nodes'. `onError` hears a failed catalogue look-up (never thrown into an event handler).
 */
export function shareRestreamState(io: OnAirIo, ownerOf: OwnerOf, onError: (err: unknown) => void): (e: RestreamStateEvent) => void {
  const push = (e: RestreamStateEvent) =>
    Promise.resolve(ownerOf(e.streamId)).then((ownerId) => {
      if (ownerId !== undefined) pushTo(io, ownerId, e);
    }, onError);
  io.on('restream:state', (raw: unknown) => {
    const e = restreamStateEventSchema.safeParse(raw);
    if (e.success) void push(e.data);
  });
  return (e) => {
    void push(e);
    io.serverSideEmit('restream:state', e);
  };
}
