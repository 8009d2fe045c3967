/**
 * The pure parts of webhooks: which addresses a hook may reach, the back-off schedule, the URL rule, the
 * settings, and the signature as the documented verifier (docs/webhooks.md, loaded from the document) judges
 * it, including its replay window.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../../server/config/config.js';
import { isPrivateAddress, resolveAllowed } from '../../server/webhooks/addressPolicy.js';
import { nextAttemptAt, retryDelayMs } from '../../server/webhooks/backoff.js';
import { signatureHeader } from '../../server/webhooks/signature.js';
import { createWebhookSchema } from '../../server/webhooks/webhookSchemas.js';
import { docNodeVerifier, type NodeVerifier } from '../helpers/webhookReceiver.js';

describe('address policy', () => {
  it('refuses loopback, private, link-local, shared, multicast, documentation and reserved addresses', () => {
    for (const a of [
      '127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.0.1',
      '0.0.0.0', '192.0.2.1', '198.51.100.7', '203.0.113.9', '198.18.0.1', '224.0.0.251', '255.255.255.255',
      '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'ff02::1', '2001:db8::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::10.0.0.1', 'not-an-ip',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
  });

  it('lets public addresses through, including ones next to the private ranges', () => {
    for (const a of ['1.1.1.1', '8.8.8.8', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '11.0.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
      expect(isPrivateAddress(a), a).toBe(false);
    }
  });

  it('resolves names and judges every address (localhost is refused, allowed with the setting)', async () => {
    await expect(resolveAllowed('localhost', false)).rejects.toThrow(/localhost resolves to .*loopback, private or reserved/);
    expect((await resolveAllowed('localhost', true)).length).toBeGreaterThan(0);
    await expect(resolveAllowed('10.9.8.7', false)).rejects.toThrow(/10\.9\.8\.7/);
    expect(await resolveAllowed('8.8.8.8', false)).toEqual([{ address: '8.8.8.8', family: 4 }]);
  });
});

describe('retry schedule', () => {
  const p = { firstMs: 10_000, maxMs: 3_600_000, windowMs: 24 * 3_600_000 };

  it('doubles from the first delay up to the cap, each delay jittered between half and all of it', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, p, () => 1 - 1e-12))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, p, () => 0))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(retryDelayMs(20, p, () => 1 - 1e-12)).toBe(3_600_000);
    expect(retryDelayMs(500, p, () => 0)).toBe(1_800_000);
  });

  it('stops scheduling after 24 h from the event: about 40 attempts with the defaults', () => {
    const created = 0;
    let now = 0;
    let attempts = 1;
    for (;;) {
      const next = nextAttemptAt(created, now, attempts, p, () => 0.5);
      if (next === undefined) break;
      expect(next).toBeLessThanOrEqual(created + p.windowMs);
      now = next;
      attempts++;
    }
    expect(attempts).toBeGreaterThan(30);
    expect(attempts).toBeLessThan(45);
    expect(now).toBeGreaterThan(p.windowMs - p.maxMs);
  });
});

describe('webhook URL and input', () => {
  it('takes http and https URLs with an optional event filter, nothing else', () => {
    expect(createWebhookSchema.parse({ url: ' https://bot.example.com/hook?token=x ' })).toEqual({ url: 'https://bot.example.com/hook?token=x', events: [], description: '' });
    expect(createWebhookSchema.parse({ url: 'http://bot.example.com', events: ['stream.live', 'stream.live', 'restream.failed'] }).events).toEqual(['stream.live', 'restream.failed']);
    for (const bad of [
      { url: 'ftp://x.example' },
      { url: 'file:///etc/passwd' },
      { url: 'gopher://x.example' },
      { url: 'https://a:b@x.example' },
      { url: '/relative' },
      { url: 'https://x.example', events: ['everything'] },
      { url: 'https://x.example', extra: 1 },
      { url: 'https://x.example', description: 'd'.repeat(201) },
    ]) {
      expect(createWebhookSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('settings', () => {
  it('are off by default', () => {
    expect(loadConfig({}).webhooks).toEqual({ url: undefined, secret: undefined, allowPrivate: false, retryFirstMs: 10_000 });
  });

  it('read the server-wide hook and mask its secret in the start-up log', () => {
    const c = loadConfig({ ONAIR_WEBHOOK_URL: 'https://ops.example.com/onair', ONAIR_WEBHOOK_SECRET: 's'.repeat(32), ONAIR_WEBHOOK_ALLOW_PRIVATE: '1', ONAIR_WEBHOOK_RETRY_FIRST_MS: '500' });
    expect(c.webhooks).toEqual({ url: 'https://ops.example.com/onair', secret: 's'.repeat(32), allowPrivate: true, retryFirstMs: 500 });
    expect(JSON.stringify(describeConfig(c))).not.toContain('s'.repeat(32));
    expect(describeConfig(c).webhooks).toMatchObject({ url: 'https://ops.example.com/onair', secret: '<redacted>' });
  });

  it('refuse a URL without its secret, a short secret, other schemes, and bad values', () => {
    expect(() => loadConfig({ ONAIR_WEBHOOK_URL: 'https://ops.example.com/onair' })).toThrow(ConfigError);
    expect(() => loadConfig({ ONAIR_WEBHOOK_URL: 'https://ops.example.com/onair' })).toThrow(/ONAIR_WEBHOOK_SECRET: required/);
    expect(() => loadConfig({ ONAIR_WEBHOOK_URL: 'https://ops.example.com/onair', ONAIR_WEBHOOK_SECRET: 'short' })).toThrow(/ONAIR_WEBHOOK_SECRET/);
    expect(() => loadConfig({ ONAIR_WEBHOOK_URL: 'ftp://ops.example.com', ONAIR_WEBHOOK_SECRET: 's'.repeat(32) })).toThrow(/ONAIR_WEBHOOK_URL/);
    expect(() => loadConfig({ ONAIR_WEBHOOK_ALLOW_PRIVATE: 'yes' })).toThrow(/ONAIR_WEBHOOK_ALLOW_PRIVATE/);
    expect(() => loadConfig({ ONAIR_WEBHOOK_RETRY_FIRST_MS: '0' })).toThrow(/ONAIR_WEBHOOK_RETRY_FIRST_MS/);
  });
});

describe('signature, as the documented verifier checks it', () => {
  let verify: NodeVerifier;
  beforeAll(async () => {
    verify = await docNodeVerifier();
  });
  const secret = 'whsec_test';
  const body = JSON.stringify({ id: 'evt_1', type: 'stream.live', createdAt: '2026-11-30T10:00:00.000Z', data: { streamId: 's', title: 'ünï ✓' } });
  const t = 1_800_000_000;
  const at = (seconds: number) => (t + seconds) * 1000;

  it('is HMAC-SHA256 over "<t>.<body>" in hex, and the verifier returns the event', () => {
    const header = signatureHeader(secret, body, t);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verify(body, header, secret, at(0))).toEqual(JSON.parse(body));
  });

  it('accepts a timestamp up to 5 minutes either way, refuses older (a replay) or further ahead', () => {
    const header = signatureHeader(secret, body, t);
    expect(verify(body, header, secret, at(300))).toBeTruthy();
    expect(verify(body, header, secret, at(-300))).toBeTruthy();
    expect(() => verify(body, header, secret, at(301))).toThrow(/tolerance window/);
    expect(() => verify(body, header, secret, at(-301))).toThrow(/tolerance window/);
    // A replay with the timestamp moved forward no longer matches: the timestamp is signed.
    const replayed = header.replace(`t=${t}`, `t=${t + 3600}`);
    expect(() => verify(body, replayed, secret, at(3600))).toThrow(/signature mismatch/);
  });

  it('refuses a changed body, another secret, and malformed headers', () => {
    const header = signatureHeader(secret, body, t);
    expect(() => verify(body.replace('ünï', 'uni'), header, secret, at(0))).toThrow(/signature mismatch/);
    expect(() => verify(body, header, 'whsec_other', at(0))).toThrow(/signature mismatch/);
    for (const bad of [undefined, '', 'v1=abc', `t=${t}`, `t=abc,v1=${'0'.repeat(64)}`, `t=${t},v1=zz`]) {
      expect(() => verify(body, bad, secret, at(0)), String(bad)).toThrow();
    }
  });

  it('accepts when any of several v1 signatures matches (secret rotation)', () => {
    const good = signatureHeader(secret, body, t);
    const other = signatureHeader('whsec_old', body, t).split(',')[1];
    expect(verify(body, `${good.split(',')[0]},${other},${good.split(',')[1]}`, secret, at(0))).toBeTruthy();
  });
});
