/**
 * Live chat over the real signaling socket (socket.io clients against a real OnAir: mediasoup, SQLite):
 * two viewers and the stream's owner chat; every moderation action (delete, timeout, ban, pardon, slow mode,
 * chat off, word filter) as the viewers see it; names that may not be taken; history on join and over
 * GET /api/streams/:id/chat; private streams; rate limits per socket and per address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../shared/chat.js';
import { connect, type TestSocket } from '../helpers/signalingClient.js';
import { until } from '../helpers/until.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let s: TestServer;
let ownerToken: string;
let streamId: string;
const sockets: TestSocket[] = [];

const ok = <T>(ack: { ok: true; data: T } | { ok: false; error: string; message: string }): T => {
  if (!ack.ok) throw new Error(`${ack.error}: ${ack.message}`);
  return ack.data;
};
const open = async (token?: string) => {
  const c = await connect(s.url, token);
  sockets.push(c);
  return c;
};
/** Every message a socket receives (chat:messages), in order. */
const inbox = (c: TestSocket) => {
  const got: ChatMessage[] = [];
  c.on('chat:messages', (e) => got.push(...e.messages));
  return got;
};
const session = (n: number) => `test-session-${String(n).padStart(8, '0')}`;

beforeAll(async () => {
  s = await startTestServer({ ONAIR_CHAT_MESSAGES_PER_ADDRESS: '1000' });
  ownerToken = await s.broadcaster('olive');
  streamId = (await s.api('POST', '/api/streams', { token: ownerToken, body: { title: 'Chatty' } })).body.id;
});

afterAll(async () => {
  for (const c of sockets) c.disconnect();
  await s?.close();
});

describe('chat between two viewers and the owner', () => {
  it('delivers each message once to everyone in the chat, marks the owner, keeps text as text', async () => {
    const owner = await open(ownerToken);
    const ann = await open();
    const ben = await open();
    const outsider = await open();
    const joinedOwner = ok(await owner.request('chat:join', { streamId }));
    expect(joinedOwner.me).toEqual({ name: 'olive', role: 'owner', verified: true, canModerate: true });
    expect(joinedOwner.moderator).toEqual({ enabled: true, slowModeSeconds: 0, filter: [] });
    const joinedAnn = ok(await ann.request('chat:join', { streamId, name: 'Ann', session: session(1) }));
    expect(joinedAnn.me).toEqual({ name: 'Ann', role: 'viewer', verified: false, canModerate: false });
    expect(joinedAnn.moderator).toBeNull();
    ok(await ben.request('chat:join', { streamId, session: session(2) }));
    const ownerBox = inbox(owner);
    const annBox = inbox(ann);
    const benBox = inbox(ben);
    const outsiderBox = inbox(outsider);

    // Ben has no name yet; the owner's name, an admin's and their look-alikes are taken.
    expect(await ben.request('chat:send', { text: 'hi' })).toMatchObject({ ok: false, error: 'bad_request' });
    for (const name of ['olive', 'OLIVE', '0live', 'admin', 'Moderator']) {
      expect(await ben.request('chat:name', { name }), name).toMatchObject({ ok: false, error: 'conflict' });
    }
    expect(await ben.request('chat:name', { name: '<img src=x>' })).toMatchObject({ ok: false, error: 'validation_failed' });
    expect(ok(await ben.request('chat:name', { name: '  Ben  ' }))).toEqual({ name: 'Ben' });
    // A signed-in viewer keeps their account's name.
    expect(await owner.request('chat:name', { name: 'Someone' })).toMatchObject({ ok: false, error: 'forbidden' });

    const hostile = '<script>alert(1)</script> see https://example.com/x';
    const m1 = ok(await ann.request('chat:send', { text: hostile })).message;
    const m2 = ok(await ben.request('chat:send', { text: 'hello Ann' })).message;
    const m3 = ok(await owner.request('chat:send', { text: 'welcome both' })).message;
    expect(m1).toMatchObject({ streamId, name: 'Ann', role: 'viewer', verified: false, text: hostile });
    expect(m3).toMatchObject({ name: 'olive', role: 'owner', verified: true });
    expect(m1.seq < m2.seq && m2.seq < m3.seq && m1.at < m2.at && m2.at < m3.at).toBe(true);
    for (const box of [ownerBox, annBox, benBox]) await until('all three messages', () => box.length >= 3);
    for (const box of [ownerBox, annBox, benBox]) expect(box.map((m) => m.id)).toEqual([m1.id, m2.id, m3.id]);
    // Not in the chat: nothing.
    expect(outsiderBox).toEqual([]);
    // The stored history names no author's account, address or session.
    const history = await s.api('GET', `/api/streams/${streamId}/chat`);
    expect(history.status).toBe(200);
    expect(history.body.messages.map((m: ChatMessage) => m.id)).toEqual([m1.id, m2.id, m3.id]);
    expect(Object.keys(history.body.messages[0]).sort()).toEqual(['at', 'id', 'name', 'role', 'seq', 'streamId', 'text', 'verified']);
  });

  it('moderation: delete, timeout, ban and pardon, slow mode, chat off, word filter; only for moderators', async () => {
    const owner = await open(ownerToken);
    const ann = await open();
    const benToken = await s.broadcaster('benedict');
    const ben = await open(benToken);
    ok(await owner.request('chat:join', { streamId }));
    ok(await ann.request('chat:join', { streamId, name: 'Annie', session: session(3) }));
    ok(await ben.request('chat:join', { streamId }));
    const deleted: string[] = [];
    ann.on('chat:deleted', (e) => deleted.push(e.messageId));
    const sanctions: unknown[] = [];
    ann.on('chat:sanctioned', (e) => sanctions.push(e));
    const settingsSeen: unknown[] = [];
    ben.on('chat:settings', (e) => settingsSeen.push(e.settings));

    // Viewers may not moderate.
    const bad = ok(await ann.request('chat:send', { text: 'rude words' })).message;
    for (const [name, payload] of [
      ['chat:delete', { messageId: bad.id }],
      ['chat:timeout', { messageId: bad.id, seconds: 60 }],
      ['chat:ban', { messageId: bad.id }],
      ['chat:settings', { enabled: false }],
    ] as const) {
      expect(await ben.request(name, payload as never), name).toMatchObject({ ok: false, error: 'forbidden' });
    }
    // Delete: gone for everyone, and from the history.
    ok(await owner.request('chat:delete', { messageId: bad.id }));
    await until('the deletion reaches Ann', () => deleted.includes(bad.id));
    const after = (await s.api('GET', `/api/streams/${streamId}/chat?limit=200`)).body.messages as ChatMessage[];
    expect(after.some((m) => m.id === bad.id)).toBe(false);
    expect(await owner.request('chat:delete', { messageId: bad.id })).toMatchObject({ ok: false, error: 'not_found' });

    // Timeout (a signed-in viewer: by account).
    const benMsg = ok(await ben.request('chat:send', { text: 'I am Ben' })).message;
    const timeout = ok(await owner.request('chat:timeout', { messageId: benMsg.id, seconds: 600 }));
    expect(Date.parse(timeout.until)).toBeGreaterThan(Date.now() + 590_000);
    expect(await ben.request('chat:send', { text: 'still here?' })).toMatchObject({ ok: false, error: 'forbidden' });
    expect(ok(await ann.request('chat:send', { text: 'Ann is not held by Ben’s timeout' })).message.name).toBe('Annie');
    // The owner and admins cannot be sanctioned.
    const ownerMsg = ok(await owner.request('chat:send', { text: 'rules: be nice' })).message;
    expect(await owner.request('chat:ban', { messageId: ownerMsg.id })).toMatchObject({ ok: false, error: 'forbidden' });

    // Ban an anonymous viewer: by session and address; a new session from the same address is held too.
    const annMsg = ok(await ann.request('chat:send', { text: 'one more' })).message;
    ok(await owner.request('chat:ban', { messageId: annMsg.id }));
    await until('Ann is told', () => sanctions.length > 0);
    expect(sanctions[0]).toEqual({ streamId, kind: 'ban', until: null });
    expect(await ann.request('chat:send', { text: 'hello?' })).toMatchObject({ ok: false, error: 'forbidden' });
    const annAgain = await open();
    ok(await annAgain.request('chat:join', { streamId, name: 'Annie2', session: session(4) }));
    expect(await annAgain.request('chat:send', { text: 'new me' })).toMatchObject({ ok: false, error: 'forbidden' });
    // Pardon lifts it (and Ben's timeout, for his message).
    ok(await owner.request('chat:pardon', { messageId: annMsg.id }));
    ok(await owner.request('chat:pardon', { messageId: benMsg.id }));
    ok(await ann.request('chat:send', { text: 'thanks' }));
    ok(await ben.request('chat:send', { text: 'back' }));

    // Slow mode: one message per N s for viewers; moderators are exempt.
    expect(ok(await owner.request('chat:settings', { slowModeSeconds: 30 }))).toMatchObject({ slowModeSeconds: 30 });
    await until('Ben sees slow mode', () => settingsSeen.some((x) => (x as { slowModeSeconds: number }).slowModeSeconds === 30));
    ok(await ben.request('chat:send', { text: 'slow one' }));
    expect(await ben.request('chat:send', { text: 'slow two' })).toMatchObject({ ok: false, error: 'too_many_requests' });
    ok(await owner.request('chat:send', { text: 'mods are exempt' }));
    ok(await owner.request('chat:settings', { slowModeSeconds: 0 }));

    // Word filter (Ben on a second page: refused attempts count against a socket's rate too).
    const ben2 = await open(benToken);
    ok(await ben2.request('chat:join', { streamId }));
    expect(ok(await owner.request('chat:settings', { filter: ['darn', ' darn ', 'buy now'] })).filter).toEqual(['darn', 'buy now']);
    expect(await ben2.request('chat:send', { text: 'oh DARN it' })).toMatchObject({ ok: false, error: 'forbidden' });
    expect(await ben2.request('chat:send', { text: 'Buy   now!' })).toMatchObject({ ok: false, error: 'forbidden' });
    ok(await ben2.request('chat:send', { text: 'darnit is fine' }));

    // Chat off.
    ok(await owner.request('chat:settings', { enabled: false }));
    await until('Ben sees chat off', () => settingsSeen.some((x) => (x as { enabled: boolean }).enabled === false));
    expect(await ben2.request('chat:send', { text: 'anyone?' })).toMatchObject({ ok: false, error: 'forbidden' });
    ok(await owner.request('chat:settings', { enabled: true, filter: [] }));
    // Settings are kept: a new member sees them.
    const late = await open();
    expect(ok(await late.request('chat:join', { streamId, name: 'Late', session: session(5) })).settings).toEqual({ enabled: true, slowModeSeconds: 0 });
  });
});

describe('history', () => {
  it('gives the latest 50 on join, and pages by time over the API, oldest first', async () => {
    const id = (await s.api('POST', '/api/streams', { token: ownerToken, body: { title: 'History' } })).body.id as string;
    const store = s.catalogue.chat;
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    for (let i = 0; i < 120; i++) {
      await store.add({ id: `hist${String(i).padStart(8, '0')}`, streamId: id, at: new Date(t0 + i * 1000).toISOString(), name: 'Old', role: 'viewer', text: `m${i}` }, { userId: null, address: '10.0.0.1', session: session(9) });
    }
    const c = await open();
    const joined = ok(await c.request('chat:join', { streamId: id }));
    expect(joined.messages.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 70}`));
    expect(joined.me.name).toBeNull();

    const page = async (q: string) => (await s.api('GET', `/api/streams/${id}/chat${q}`)).body as { messages: ChatMessage[]; hasMore: boolean };
    const first = await page('?limit=10');
    expect(first.messages.map((m) => m.text)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 110}`));
    expect(first.hasMore).toBe(true);
    const older = await page(`?limit=10&before=${encodeURIComponent(first.messages[0]!.at)}`);
    expect(older.messages.map((m) => m.text)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 100}`));
    // Forwards from a time, as the replay on /video does: every message once.
    const seen: string[] = [];
    let after = new Date(t0 - 1).toISOString();
    for (;;) {
      const p = await page(`?limit=33&after=${encodeURIComponent(after)}&before=${encodeURIComponent(new Date(t0 + 100_000).toISOString())}`);
      seen.push(...p.messages.map((m) => m.text));
      if (!p.hasMore) break;
      after = p.messages.at(-1)!.at;
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    // Times with an offset are the same instants.
    expect((await page('?limit=1&before=2026-01-01T01:00:10%2B01:00')).messages[0]!.text).toBe('m9');
    for (const q of ['?limit=0', '?limit=201', '?before=yesterday', '?after=1', '?x=1']) expect((await s.api('GET', `/api/streams/${id}/chat${q}`)).status, q).toBe(400);
    expect((await s.api('GET', '/api/streams/nosuchstream/chat')).status).toBe(404);
  });

  it('keeps private streams private: chat and history need a viewer token', async () => {
    const priv = (await s.api('POST', '/api/streams', { token: ownerToken, body: { title: 'Secret', visibility: 'private' } })).body.id as string;
    const viewerToken = (await s.api('POST', `/api/streams/${priv}/viewer-token`, { token: ownerToken })).body.token as string;
    const c = await open();
    expect(await c.request('chat:join', { streamId: priv, name: 'Nosy' })).toMatchObject({ ok: false, error: 'unauthorized' });
    expect(await c.request('chat:join', { streamId: priv, name: 'Nosy', token: 'x' })).toMatchObject({ ok: false, error: 'forbidden' });
    ok(await c.request('chat:join', { streamId: priv, name: 'Invited', token: viewerToken }));
    // The owner chats with their access token given in the join (the page's socket is anonymous).
    const ownerPage = await open();
    expect(ok(await ownerPage.request('chat:join', { streamId: priv, accessToken: ownerToken })).me.role).toBe('owner');
    expect(await ownerPage.request('chat:join', { streamId: priv, accessToken: 'not-a-token' })).toMatchObject({ ok: false, error: 'unauthorized' });
    expect((await s.api('GET', `/api/streams/${priv}/chat`)).status).toBe(403);
    expect((await s.api('GET', `/api/streams/${priv}/chat?token=${viewerToken}`)).status).toBe(200);
  });
});

describe('limits and leaks', () => {
  it('answers a socket sending too fast with too_many_requests', async () => {
    const c = await open();
    ok(await c.request('chat:join', { streamId, name: 'Speedy', session: session(6) }));
    const acks = await Promise.all(Array.from({ length: 8 }, (_, i) => c.request('chat:send', { text: `fast ${i}` })));
    expect(acks.filter((a) => a.ok)).toHaveLength(5);
    expect(acks.filter((a) => !a.ok).every((a) => !a.ok && a.error === 'too_many_requests')).toBe(true);
  });

  it('answers an address sending too fast, across its sockets, with too_many_requests', async () => {
    const strict = await startTestServer({ ONAIR_CHAT_MESSAGES_PER_ADDRESS: '1' });
    try {
      const token = await strict.broadcaster('sam');
      const id = (await strict.api('POST', '/api/streams', { token, body: { title: 'Strict' } })).body.id as string;
      const cs = await Promise.all(Array.from({ length: 3 }, () => connect(strict.url)));
      await Promise.all(cs.map((c, i) => c.request('chat:join', { streamId: id, name: `Nat ${i}`, session: session(20 + i) })));
      // Burst 3 from the address: each socket's own limit (5) is not what stops the fourth.
      const acks = [];
      for (const c of cs) for (let i = 0; i < 2; i++) acks.push(await c.request('chat:send', { text: 'x' }));
      expect(acks.map((a) => (a.ok ? 'ok' : a.error))).toEqual(['ok', 'ok', 'ok', 'too_many_requests', 'too_many_requests', 'too_many_requests']);
      for (const c of cs) c.disconnect();
    } finally {
      await strict.close();
    }
  });

  it('forgets members and rooms when sockets leave or disconnect', async () => {
    const a = await open();
    ok(await a.request('chat:join', { streamId, name: 'Leaver' }));
    expect(s.chat.memberCount).toBeGreaterThan(0);
    ok(await a.request('chat:leave', {}));
    expect(s.chat.member(a.id!)).toBeUndefined();
    for (const c of sockets) c.disconnect();
    await until('every member gone', () => s.chat.memberCount === 0 && s.chat.roomCount === 0);
  });
});
