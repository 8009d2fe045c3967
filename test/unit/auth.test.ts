import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../server/auth/LoginThrottle.js';
import { hashPassword, verifyPassword } from '../../server/auth/passwords.js';
import { AUDIENCE, ISSUER, TokenError, Tokens } from '../../server/auth/tokens.js';

const SECRET = 'a'.repeat(48);
const tokens = new Tokens(SECRET, { accessSeconds: 60, viewerSeconds: 60 });

describe('passwords', () => {
  it('hashes with a per-user salt and verifies', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).not.toBe(b);
    expect(a.startsWith('scrypt$')).toBe(true);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('wrong horse', a)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
  });
});

describe('tokens', () => {
  const access = { sub: 'u1', role: 'broadcaster' as const, username: 'ann' };

  it('round-trips access and viewer tokens', () => {
    expect(tokens.verifyAccess(tokens.signAccess(access).token)).toEqual(access);
    expect(tokens.verifyViewer(tokens.signViewer('stream000001').token, 'stream000001')).toEqual({ sub: 'stream000001' });
  });

  it('refuses a token signed with another secret', () => {
    const other = new Tokens('b'.repeat(48), { accessSeconds: 60, viewerSeconds: 60 });
    expect(() => tokens.verifyAccess(other.signAccess(access).token)).toThrow(TokenError);
  });

  it('refuses alg "none"', () => {
    const none = jwt.sign({ role: 'admin', username: 'x' }, '', { algorithm: 'none', subject: 'u1', audience: AUDIENCE.access, issuer: ISSUER, expiresIn: 60 });
    expect(() => tokens.verifyAccess(none)).toThrow(TokenError);
  });

  it('refuses another HMAC algorithm than HS256', () => {
    const hs512 = jwt.sign({ role: 'admin', username: 'x' }, SECRET, { algorithm: 'HS512', subject: 'u1', audience: AUDIENCE.access, issuer: ISSUER, expiresIn: 60 });
    expect(() => tokens.verifyAccess(hs512)).toThrow(TokenError);
  });

  it('refuses expired tokens and tokens without exp', () => {
    const expired = jwt.sign({ role: 'admin', username: 'x', exp: Math.floor(Date.now() / 1000) - 10 }, SECRET, { subject: 'u1', audience: AUDIENCE.access, issuer: ISSUER });
    expect(() => tokens.verifyAccess(expired)).toThrow(/expired/);
    const forever = jwt.sign({ role: 'admin', username: 'x' }, SECRET, { subject: 'u1', audience: AUDIENCE.access, issuer: ISSUER });
    expect(() => tokens.verifyAccess(forever)).toThrow(/expiry/);
  });

  it('keeps audiences apart and viewer tokens to their stream', () => {
    const viewer = tokens.signViewer('stream000001').token;
    expect(() => tokens.verifyAccess(viewer)).toThrow(TokenError);
    expect(() => tokens.verifyViewer(tokens.signAccess(access).token, 'stream000001')).toThrow(TokenError);
    expect(() => tokens.verifyViewer(viewer, 'stream000002')).toThrow(/another stream/);
  });

  it('refuses malformed and oversized tokens', () => {
    expect(() => tokens.verifyAccess('not.a.jwt')).toThrow(TokenError);
    expect(() => tokens.verifyAccess('x'.repeat(5000))).toThrow(/too long/);
  });
});

describe('LoginThrottle', () => {
  it('lets a few attempts through, then doubles the wait, and forgets on success', () => {
    const t = new LoginThrottle({ baseMs: 1000, maxMs: 8000, freeAttempts: 2 });
    const k = 'ann';
    t.fail(k, 0);
    t.fail(k, 0);
    expect(t.retryAfterMs(k, 0)).toBe(0);
    t.fail(k, 0);
    expect(t.retryAfterMs(k, 0)).toBe(1000);
    t.fail(k, 1000);
    expect(t.retryAfterMs(k, 1000)).toBe(2000);
    for (let i = 0; i < 10; i++) t.fail(k, 5000);
    expect(t.retryAfterMs(k, 5000)).toBe(8000);
    t.succeed('ann');
    expect(t.retryAfterMs(k, 5000)).toBe(0);
  });
});
