/**
 * The chat's signaling requests (shared/chat.ts): ChatService decides, these publish to the stream's chat room
 * (`chat:<streamId>`, separate from the stream's room so that players without a chat panel, such as embeds
 * without `?chat=1`, get no chat traffic). New messages go out in batches (ChatOutbox), queued right after
 * the store write (ChatService.send runs a stream's inserts one at a time and publishes each before the
 * next), so every member's order is the store's order.
 *
 * A socket's membership ends on `chat:leave`, on joining another stream's chat, or on disconnect: the
 * disconnect listener is added once per socket (a WeakSet remembers which), however often it joins.
 */
import { clientAddress } from '../http/clientAddress.js';
import { SignalingError } from '../signaling/SignalingError.js';
import type { HandlerContext, Handlers, OnAirIo, OnAirSocket } from '../signaling/SignalingServer.js';
import { ChatError } from './ChatError.js';
import { ChatOutbox } from './ChatOutbox.js';
import type { ChatService } from './ChatService.js';

export const chatRoom = (streamId: string) => `chat:${streamId}`;

/** Runs a ChatService call, answering its refusals as signaling errors. */
async function refusing<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ChatError) throw new SignalingError(err.code, err.message);
    throw err;
  }
}

export function chatHandlers(chat: ChatService): Handlers {
  const watched = new WeakSet<OnAirSocket>();
  // Set on the first request: the handlers are made before the socket.io server exists.
  let outbox: ChatOutbox | undefined;
  const outboxOf = (io: OnAirIo) => (outbox ??= new ChatOutbox((streamId, messages) => io.to(chatRoom(streamId)).emit('chat:messages', { streamId, messages })));
  const leaveRoom = (socket: OnAirSocket, streamId: string | undefined) => {
    if (streamId) void socket.leave(chatRoom(streamId));
  };

  return {
    'chat:join': async (req, ctx: HandlerContext) => {
      const { socket } = ctx;
      // A socket gone already would never say 'disconnect' again: its membership would be left behind.
      if (socket.disconnected) throw new SignalingError('conflict', 'the connection closed');
      // join takes the membership only while the socket is open (it checks after its reads), and the leave
      // on disconnect is in place before: no membership outlives its socket.
      if (!watched.has(socket)) {
        watched.add(socket);
        socket.once('disconnect', () => chat.leave(socket.id));
      }
      const { result, left } = await refusing(() => chat.join(socket.id, clientAddress(socket.request, ctx.services.trustProxy), socket.data.user, req, () => socket.connected));
      leaveRoom(socket, left);
      await socket.join(chatRoom(req.streamId));
      return result;
    },

    'chat:leave': (_p, { socket }) => {
      leaveRoom(socket, chat.leave(socket.id));
      return {};
    },

    'chat:name': async ({ name }, { socket }) => ({ name: await refusing(() => chat.setName(socket.id, name)) }),

    'chat:send': async ({ text }, { socket, io }) => {
      // Published from inside the store's order (ChatService.send), not after this await.
      const message = await refusing(() => chat.send(socket.id, text, (m) => outboxOf(io).push(m)));
      return { message };
    },

    'chat:delete': async ({ messageId }, { socket, io }) => {
      const streamId = await refusing(() => chat.delete(socket.id, messageId));
      outboxOf(io).flush(streamId);
      io.to(chatRoom(streamId)).emit('chat:deleted', { streamId, messageId });
      return {};
    },

    'chat:timeout': async ({ messageId, seconds }, { socket, io }) => {
      const s = await refusing(() => chat.sanction(socket.id, messageId, 'timeout', seconds));
      for (const id of s.sockets) io.to(id).emit('chat:sanctioned', { streamId: s.streamId, kind: 'timeout', until: s.until });
      return { until: s.until! };
    },

    'chat:ban': async ({ messageId }, { socket, io }) => {
      const s = await refusing(() => chat.sanction(socket.id, messageId, 'ban', null));
      for (const id of s.sockets) io.to(id).emit('chat:sanctioned', { streamId: s.streamId, kind: 'ban', until: null });
      return {};
    },

    'chat:pardon': async ({ messageId }, { socket }) => {
      await refusing(() => chat.pardon(socket.id, messageId));
      return {};
    },

    'chat:settings': async (patch, { socket, io }) => {
      const { streamId, settings } = await refusing(() => chat.updateSettings(socket.id, patch));
      outboxOf(io).flush(streamId);
      io.to(chatRoom(streamId)).emit('chat:settings', { streamId, settings: { enabled: settings.enabled, slowModeSeconds: settings.slowModeSeconds } });
      return settings;
    },
  };
}
