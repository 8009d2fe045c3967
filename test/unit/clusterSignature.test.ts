import { describe, expect, it } from 'vitest';
import { HEADERS, NONCE, sign, signaturesEqual, signedHeaders, type SignedParts } from '../../server/cluster/requestSignature.js';

const SECRET = 'k'.repeat(40);
const parts: SignedParts = { method: 'POST', path: '/internal/pipes', timestamp: 1_764_500_000_000, nonce: 'abcdefghijklmnop', nodeId: 'node-a', body: '{"a":1}' };

describe('request signatures', () => {
  it('are hex HMAC-SHA256, the same for the same request', () => {
    expect(sign(SECRET, parts)).toMatch(/^[0-9a-f]{64}$/);
    expect(sign(SECRET, parts)).toBe(sign(SECRET, { ...parts, method: 'post', body: Buffer.from('{"a":1}') }));
  });

  it.each([
    ['method', { method: 'DELETE' }],
    ['path', { path: '/internal/pipes?x=1' }],
    ['timestamp', { timestamp: parts.timestamp + 1 }],
    ['nonce', { nonce: 'abcdefghijklmnoq' }],
    ['node', { nodeId: 'node-b' }],
    ['body', { body: '{"a":2}' }],
    ['body whitespace', { body: '{"a": 1}' }],
  ] as [string, Partial<SignedParts>][])('change with the %s', (_what, change) => {
    expect(sign(SECRET, { ...parts, ...change })).not.toBe(sign(SECRET, parts));
  });

  it('change with the secret', () => {
    expect(sign(`${SECRET}x`, parts)).not.toBe(sign(SECRET, parts));
  });

  it('are compared in constant time, and only as 32-byte values', () => {
    const s = sign(SECRET, parts);
    expect(signaturesEqual(s, s)).toBe(true);
    expect(signaturesEqual(s, sign(SECRET, { ...parts, nonce: 'x'.repeat(16) }))).toBe(false);
    expect(signaturesEqual(s, s.slice(0, 62))).toBe(false);
    expect(signaturesEqual('', '')).toBe(false);
  });

  it('signedHeaders gives a fresh nonce and the current time each call', () => {
    const a = signedHeaders(SECRET, { method: 'POST', path: '/internal/pipes', nodeId: 'node-a', body: '' });
    const b = signedHeaders(SECRET, { method: 'POST', path: '/internal/pipes', nodeId: 'node-a', body: '' });
    expect(a[HEADERS.nonce]).not.toBe(b[HEADERS.nonce]);
    expect(a[HEADERS.nonce]).toMatch(NONCE);
    expect(Math.abs(Number(a[HEADERS.timestamp]) - Date.now())).toBeLessThan(60_000);
    expect(a[HEADERS.signature]).toBe(
      sign(SECRET, { method: 'POST', path: '/internal/pipes', nodeId: 'node-a', body: '', timestamp: Number(a[HEADERS.timestamp]), nonce: a[HEADERS.nonce]! }),
    );
  });
});
