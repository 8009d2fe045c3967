/**
 * How fast chat messages may come, besides the signaling socket's own 20 requests/s: a person types a few
 * messages in a burst, then about one a second. Per socket, so one page cannot flood a room; per client
 * address (configurable: ONAIR_CHAT_MESSAGES_PER_ADDRESS), so many sockets from one address cannot either,
 * with room for a classroom behind one NAT. Both answer `too_many_requests`.
 */
export interface ChatLimits {
  perSocket: { rate: number; burst: number };
  perAddress: { rate: number; burst: number };
}

export const chatLimits = (messagesPerAddress: number): ChatLimits => ({
  perSocket: { rate: 1, burst: 5 },
  perAddress: { rate: messagesPerAddress, burst: messagesPerAddress * 3 },
});
