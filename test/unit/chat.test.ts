/** The live chat's pure parts: display names, the word filter, message text, slow mode, sanctions, a room's rules, rate limits. */
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../shared/chat.js';
import { ChatError } from '../../server/chat/ChatError.js';
import { ChatOutbox } from '../../server/chat/ChatOutbox.js';
import { replayLeadInMs, replayMoment } from '../../client/chat/replayClock.js';
import { chatLimits } from '../../server/chat/chatLimits.js';
import { ChatRoom, type ChatSender } from '../../server/chat/ChatRoom.js';
import { checkDisplayName, nameKey } from '../../server/chat/displayName.js';
import { cleanMessageText } from '../../server/chat/messageText.js';
import { Sanctions, sanctionFor, type ChatIdentity } from '../../server/chat/Sanctions.js';
import { SlowMode } from '../../server/chat/SlowMode.js';
import { WordFilter } from '../../server/chat/WordFilter.js';
import { KeyedRateLimiter } from '../../server/limits/KeyedRateLimiter.js';
import { TokenBucket } from '../../server/limits/TokenBucket.js';
import { chatRequestSchemas } from '../../shared/chatSchemas.js';

const noAccounts = () => false;

describe('display names', () => {
  it('normalises spacing and width, and keeps letters of any script', () => {
    expect(checkDisplayName('  Ann   Lee ', [], noAccounts)).toEqual({ ok: true, name: 'Ann Lee' });
    expect(checkDisplayName('Ｊｏｓé', [], noAccounts)).toEqual({ ok: true, name: 'José' });
    expect(checkDisplayName('Дмитрий_1', [], noAccounts)).toEqual({ ok: true, name: 'Дмитрий_1' });
  });

  it('refuses names too short, too long, with symbols, markup or invisible characters', () => {
    for (const bad of ['a', ' ', 'x'.repeat(25), '<b>ann</b>', 'ann\u200b', 'ann\u202e', '-ann', 'a\u0000b', '@everyone']) {
      const r = checkDisplayName(bad, [], noAccounts);
      expect(r.ok, bad).toBe(false);
    }
  });

  it("protects the owner's and admins' names against look-alikes, and every account's exact name", () => {
    const protectedNames = ['admin', 'Bob_Studio'];
    for (const fake of ['Admin', 'ADM1N', 'a.d.m.i.n', 'bob studio', 'B0B-STUDI0', 'аdmin' /* Cyrillic а */, 'Moderator', 'OnAir']) {
      const r = checkDisplayName(fake, protectedNames, noAccounts);
      expect(r, fake).toMatchObject({ ok: false, taken: true });
    }
    expect(checkDisplayName('carol', protectedNames, (n) => n.toLowerCase() === 'carol')).toMatchObject({ ok: false, taken: true });
    expect(checkDisplayName('bobby', protectedNames, noAccounts)).toEqual({ ok: true, name: 'bobby' });
    expect(nameKey('Ad_m1n')).toBe(nameKey('admin'));
  });
});

describe('word filter', () => {
  it('matches whole words whatever the case, width or accents, and phrases across spaces', () => {
    const f = new WordFilter(['spam', 'buy now']);
    expect(f.match('this is SPAM')).toBe('spam');
    expect(f.match('ｓｐａｍ!')).toBe('spam');
    expect(f.match('spám')).toBe('spam');
    expect(f.match('please buy   now')).toBe('buy   now');
    expect(f.match('spammer here')).toBeUndefined();
    expect(f.match('a classic')).toBeUndefined();
  });

  it('treats filter words as text, not patterns, and drops duplicates and blanks', () => {
    const f = new WordFilter(['a.c', ' Spam ', 'spam', '', '(x']);
    expect(f.words).toEqual(['a.c', 'Spam', '(x']);
    expect(f.match('abc')).toBeUndefined();
    expect(f.match('say a.c now')).toBe('a.c');
    expect(new WordFilter([]).match('anything')).toBeUndefined();
  });
});

describe('message text', () => {
  it('keeps text and links as they are, drops control and direction-override characters, bounds blank lines', () => {
    expect(cleanMessageText('  <script>alert(1)</script> https://x.example/?a=1 ')).toBe('<script>alert(1)</script> https://x.example/?a=1');
    expect(cleanMessageText('abc\u202edef\u0007')).toBe('abcdef');
    expect(cleanMessageText('a\r\n\r\n\r\n\r\nb\tc')).toBe('a\n\nb c');
    expect(cleanMessageText(' \u200f \n ')).toBeUndefined();
  });

  it('is bounded by the schema: 500 characters, no lone surrogates, not blank', () => {
    const send = chatRequestSchemas['chat:send'];
    expect(send.safeParse({ text: 'x'.repeat(500) }).success).toBe(true);
    expect(send.safeParse({ text: 'x'.repeat(501) }).success).toBe(false);
    expect(send.safeParse({ text: 'a\ud800b' }).success).toBe(false);
    expect(send.safeParse({ text: '   ' }).success).toBe(false);
    expect(send.safeParse({ text: 'hi', html: '<b>' }).success).toBe(false);
  });
});

describe('slow mode', () => {
  it('lets each author send one message per N seconds, and forgets authors whose wait is over', () => {
    const slow = new SlowMode(10);
    expect(slow.take('ann', 0)).toEqual({ ok: true });
    expect(slow.take('bob', 1000)).toEqual({ ok: true });
    expect(slow.take('ann', 3000)).toEqual({ ok: false, waitSeconds: 7 });
    expect(slow.take('ann', 10_000)).toEqual({ ok: true });
    expect(slow.take('carol', 25_000)).toEqual({ ok: true });
    expect(slow.size).toBe(1);
    slow.seconds = 0;
    expect(slow.take('carol', 25_001)).toEqual({ ok: true });
    expect(slow.take('carol', 25_002)).toEqual({ ok: true });
  });
});

describe('sanctions', () => {
  const anon = (address: string, session: string): ChatIdentity => ({ userId: null, address, session });
  const account = (userId: string, address = '10.0.0.9'): ChatIdentity => ({ userId, address, session: 'sess-of-' + userId });

  it('holds an anonymous author by session or by address, and a signed-in one by account only', () => {
    const s = new Sanctions();
    s.add(sanctionFor('ban', anon('10.0.0.1', 'session-a'), null));
    expect(s.holding(anon('10.0.0.1', 'session-new'))?.kind).toBe('ban');
    expect(s.holding(anon('10.0.0.2', 'session-a'))?.kind).toBe('ban');
    expect(s.holding(anon('10.0.0.2', 'session-b'))).toBeUndefined();
    expect(s.holding(account('u1', '10.0.0.1'))).toBeUndefined();
    s.add(sanctionFor('timeout', account('u2'), new Date(60_000).toISOString()));
    expect(s.holding(account('u2', '10.9.9.9'), 59_999)?.kind).toBe('timeout');
    expect(s.holding(anon('10.0.0.9', 'sess-of-u2'), 0)).toBeUndefined();
    expect(s.holding(account('u2'), 60_000)).toBeUndefined();
    expect(s.size).toBe(1);
    s.removeFor(anon('10.0.0.1', 'other'));
    expect(s.holding(anon('10.0.0.1', 'session-a'))).toBeUndefined();
  });
});

describe('chat room', () => {
  const viewer: ChatSender = { identity: { userId: null, address: '10.0.0.1', session: 'sess-viewer-0000' }, moderator: false };
  const owner: ChatSender = { identity: { userId: 'owner', address: '10.0.0.2', session: 'sess-owner-00000' }, moderator: true };
  const room = (filter: string[] = [], slowModeSeconds = 0, enabled = true) =>
    new ChatRoom('stream1', { settings: { enabled, slowModeSeconds, filter }, sanctions: [], lastAt: undefined });
  const refusal = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ChatError) return err.code;
      throw err;
    }
    return 'admitted';
  };

  it('refuses in the order a sender should hear: sanction, chat off, filter, slow mode; moderators pass', () => {
    const r = room(['spam'], 30, false);
    expect(refusal(() => r.admit(viewer, 'hi', 0))).toBe('forbidden');
    r.update({ enabled: true });
    expect(refusal(() => r.admit(viewer, 'spam!', 0))).toBe('forbidden');
    expect(refusal(() => r.admit(viewer, 'hello', 0))).toBe('admitted');
    expect(refusal(() => r.admit(viewer, 'again', 1000))).toBe('too_many_requests');
    expect(refusal(() => r.admit(owner, 'spam', 1000))).toBe('admitted');
    expect(refusal(() => r.admit(owner, 'spam', 1001))).toBe('admitted');
    r.sanction(sanctionFor('ban', viewer.identity, null));
    expect(() => r.admit(viewer, 'x', 60_000)).toThrow(/banned/);
    r.pardon(viewer.identity);
    expect(refusal(() => r.admit(viewer, 'x', 60_000))).toBe('admitted');
    expect(r.settings).toEqual({ enabled: true, slowModeSeconds: 30 });
    expect(r.update({ filter: ['a', 'A', ' b '] }).filter).toEqual(['a', 'b']);
  });

  it('stamps strictly increasing times, even when the clock stands still or goes back', () => {
    const r = new ChatRoom('s', { settings: { enabled: true, slowModeSeconds: 0, filter: [] }, sanctions: [], lastAt: '2026-01-01T00:00:00.500Z' });
    const t = Date.parse('2026-01-01T00:00:00.000Z');
    expect(r.stamp(t)).toBe('2026-01-01T00:00:00.501Z');
    expect(r.stamp(t)).toBe('2026-01-01T00:00:00.502Z');
    expect(r.stamp(t + 1000)).toBe('2026-01-01T00:00:01.000Z');
  });
});

describe('chat rate limits', () => {
  it('per socket: a burst of 5, then one a second; per address: the configured rate with bursts of 3×', () => {
    const limits = chatLimits(10);
    const socket = new TokenBucket(limits.perSocket.rate, limits.perSocket.burst, 0);
    for (let i = 0; i < 5; i++) expect(socket.take(0)).toBe(true);
    expect(socket.take(0)).toBe(false);
    expect(socket.take(1000)).toBe(true);
    const address = new KeyedRateLimiter(limits.perAddress);
    for (let i = 0; i < 30; i++) expect(address.take('10.0.0.1', 0).ok).toBe(true);
    expect(address.take('10.0.0.1', 0).ok).toBe(false);
    expect(address.take('10.0.0.2', 0).ok).toBe(true);
    expect(address.take('10.0.0.1', 100).ok).toBe(true);
  });
});

describe('chat outbox', () => {
  const msg = (streamId: string, seq: number): ChatMessage => ({ id: `m${seq}`, seq, streamId, at: new Date(seq).toISOString(), name: 'a', role: 'viewer', verified: false, text: String(seq) });

  it('sends a burst as one batch per stream at the next turn of the loop, in order; flush sends at once', async () => {
    const sent: [string, number[]][] = [];
    const box = new ChatOutbox((streamId, ms) => sent.push([streamId, ms.map((m) => m.seq)]));
    box.push(msg('a', 1));
    box.push(msg('b', 2));
    box.push(msg('a', 3));
    expect(sent).toEqual([]);
    box.flush('a');
    expect(sent).toEqual([['a', [1, 3]]]);
    box.push(msg('a', 4));
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([['a', [1, 3]], ['b', [2]], ['a', [4]]]);
    expect(box.pendingStreams).toBe(0);
    box.flush('a');
    expect(sent).toHaveLength(3);
  });
});

describe('chat replay clock', () => {
  it('maps a video position to the moment it shows: start + lead-in (session length beyond the video) + position', () => {
    const rec = { startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:01:00.000Z', durationSeconds: 57.5 };
    expect(replayLeadInMs(rec)).toBe(2500);
    expect(new Date(replayMoment(rec, 0)).toISOString()).toBe('2026-01-01T00:00:02.500Z');
    expect(new Date(replayMoment(rec, 57.5)).toISOString()).toBe('2026-01-01T00:01:00.000Z');
    // No end (interrupted), or a video longer than the session: no lead-in.
    expect(replayLeadInMs({ ...rec, endedAt: null })).toBe(0);
    expect(replayLeadInMs({ ...rec, durationSeconds: 61 })).toBe(0);
  });
});
