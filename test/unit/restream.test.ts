/** Restream's pure parts: ffmpeg's command, key sealing, the destination address policy, URL validation. */
import { describe, expect, it } from 'vitest';
import { createDestinationBodySchema, destinationUrlSchema } from '../../shared/restream.js';
import { checkDestination, DestinationRefused, isPrivateAddress, type AddressPolicy } from '../../server/restream/destinationAddress.js';
import { KeySealer, keyHint } from '../../server/restream/KeySealer.js';
import { redactedTarget, restreamArgs, rtmpTarget, type RestreamPlan } from '../../server/restream/restreamArgs.js';
import { describeConfig, loadConfig } from '../../server/config/config.js';

const plan: RestreamPlan = {
  sdpPath: '/tmp/x/attempt1.sdp', target: 'rtmp://a.example/live/KEY', copyVideo: true, hasAudio: true, fps: 30, videoKbps: 4500, audioKbps: 128,
  keyframeSeconds: 2, inputTimeoutSeconds: 2, ioTimeoutSeconds: 10,
};

describe('restreamArgs', () => {
  it('copies H.264, encodes Opus to AAC, FLV to the target, progress on fd 3', () => {
    expect(restreamArgs(plan)).toEqual([
      '-hide_banner', '-loglevel', 'warning', '-nostats', '-nostdin', '-progress', 'pipe:3', '-stats_period', '0.5',
      '-protocol_whitelist', 'file,udp,rtp', '-fflags', '+genpts', '-flags', 'low_delay', '-analyzeduration', '1000000', '-probesize', '1000000',
      '-reorder_queue_size', '64', '-max_delay', '200000', '-listen_timeout', '2', '-i', '/tmp/x/attempt1.sdp',
      '-map', '0:v:0', '-map', '0:a:0', '-c:v', 'copy', '-af', 'aresample=async=1', '-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-ac', '2',
      '-rw_timeout', '10000000', '-flvflags', 'no_duration_filesize', '-f', 'flv', 'rtmp://a.example/live/KEY',
    ]);
  });

  it('transcodes other codecs with libx264 veryfast/zerolatency, a keyframe every 2 s', () => {
    const a = restreamArgs({ ...plan, copyVideo: false });
    const at = (flag: string) => a[a.indexOf(flag) + 1];
    expect(at('-c:v')).toBe('libx264');
    expect(at('-preset')).toBe('veryfast');
    expect(at('-tune')).toBe('zerolatency');
    expect(at('-g')).toBe('60');
    expect(at('-bf')).toBe('0');
    expect(at('-b:v')).toBe('4500k');
  });

  it('adds a silent AAC track when the broadcast has no audio', () => {
    const a = restreamArgs({ ...plan, hasAudio: false });
    expect(a.join(' ')).toContain('-f lavfi -i anullsrc=channel_layout=stereo:sample_rate=48000 -map 0:v:0 -map 1:a:0');
    expect(a).toContain('-shortest');
    // anullsrc's timestamps are continuous already: only RTP audio is resampled.
    expect(a).not.toContain('aresample=async=1');
  });

  it('joins the URL and key; logs show no key', () => {
    expect(rtmpTarget('rtmp://a.example/live/', 'k1')).toBe('rtmp://a.example/live/k1');
    expect(redactedTarget('rtmps://a.example:443/app')).toBe('rtmps://a.example:443/app/<key>');
  });
});

describe('KeySealer', () => {
  const secret = 'x'.repeat(48);
  it('opens what it sealed, for the same destination only, and never twice the same text', () => {
    const k = new KeySealer(secret);
    const a = k.seal('live_123_abc', 'dest00000001');
    expect(a).toMatch(/^v1\./);
    expect(a).not.toContain('live_123_abc');
    expect(k.seal('live_123_abc', 'dest00000001')).not.toBe(a);
    expect(k.open(a, 'dest00000001')).toBe('live_123_abc');
    expect(() => k.open(a, 'dest00000002')).toThrow(/cannot be decrypted/);
    expect(() => new KeySealer('y'.repeat(48)).open(a, 'dest00000001')).toThrow(/cannot be decrypted/);
  });

  it('refuses tampered or foreign text and short secrets', () => {
    const k = new KeySealer(secret);
    const a = k.seal('key', 'd');
    const raw = Buffer.from(a.slice(3), 'base64url');
    raw[raw.length - 1]! ^= 1;
    expect(() => k.open(`v1.${raw.toString('base64url')}`, 'd')).toThrow();
    expect(() => k.open('v2.abc', 'd')).toThrow(/format/);
    expect(() => k.open('v1.abc', 'd')).toThrow(/short/);
    expect(() => new KeySealer('short')).toThrow();
  });

  it('masks keys: the last 4 characters only for long keys', () => {
    expect(keyHint('live_1234567890_abcd')).toBe('••••abcd');
    expect(keyHint('short')).toBe('••••');
  });
});

describe('destination addresses', () => {
  const policy = (over: Partial<AddressPolicy> = {}): AddressPolicy => ({ allowPrivate: false, selfHosts: ['live.onair.example'], ownRtmpPort: 1935, lookup: async () => ['93.184.216.34'], ...over });
  const refused = (url: string, p: AddressPolicy) => checkDestination(url, p).then(() => 'accepted', (e: unknown) => (e instanceof DestinationRefused ? `refused: ${e.message}` : `error: ${String(e)}`));

  it('classifies private, loopback, link-local and special addresses', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '224.0.0.1', 'garbage']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('accepts a public host; refuses a name with any private address, loopback literals, names that do not resolve', async () => {
    expect(await refused('rtmp://a.rtmp.youtube.com/live2', policy())).toBe('accepted');
    expect(await refused('rtmp://mixed.example/live', policy({ lookup: async () => ['93.184.216.34', '10.0.0.7'] }))).toMatch(/refused: .*10\.0\.0\.7/);
    expect(await refused('rtmp://127.0.0.1:1936/live', policy({ lookup: undefined }))).toMatch(/refused/);
    expect(await refused('rtmp://[::1]:1936/live', policy({ lookup: undefined }))).toMatch(/refused/);
    expect(await refused('rtmp://localhost/live', policy({ lookup: undefined }))).toMatch(/refused/);
    expect(await refused('rtmp://x.invalid/live', policy({ lookup: async () => Promise.reject(new Error('ENOTFOUND')) }))).toMatch(/does not resolve/);
  });

  it('with ONAIR_RESTREAM_ALLOW_PRIVATE=1 takes private hosts, never OnAir itself', async () => {
    const p = policy({ allowPrivate: true, lookup: undefined });
    expect(await refused('rtmp://127.0.0.1:1936/live', p)).toBe('accepted');
    expect(await refused('rtmp://127.0.0.1/live', p)).toMatch(/OnAir's own RTMP ingest/);
    expect(await refused('rtmp://live.onair.example:1935/live', { ...p, lookup: async () => ['93.184.216.34'] })).toMatch(/OnAir itself/);
    expect(await refused('rtmp://live.onair.example/live', policy())).toMatch(/OnAir itself/);
  });
});

describe('destination URL and body validation', () => {
  it('takes rtmp and rtmps only, without credentials, query or fragment', () => {
    for (const ok of ['rtmp://a.example/live', 'rtmps://a.example:443/app', 'rtmp://[2606:4700::1111]/live']) expect(destinationUrlSchema.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['http://a.example/', 'srt://a.example', 'rtmp:///live', 'rtmp://u:p@a.example/live', 'rtmp://a.example/live#x', 'rtmp://a.example/live?k=1', '', 'x'.repeat(600), 'javascript:alert(1)']) {
      expect(destinationUrlSchema.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('never throws on junk bodies', () => {
    const junk: unknown[] = [null, 1, 'x', [], {}, { url: 1 }, { url: 'rtmp://a/b', streamKey: '' }, { url: 'rtmp://a/b', streamKey: 'a\nb' }, { url: '\u0000rtmp://a', streamKey: 'k' }];
    for (let i = 0; i < 300; i++) junk.push({ url: `${['rtmp', 'rtmps', 'http', ''][i % 4]}://${String.fromCharCode(...Array.from({ length: i % 40 }, (_, j) => 32 + ((i * 7 + j * 13) % 95)))}`, streamKey: 'k' });
    for (const b of junk) expect(() => createDestinationBodySchema.safeParse(b)).not.toThrow();
  });
});

describe('restream configuration', () => {
  it('reads ONAIR_RESTREAM_ALLOW_PRIVATE and ONAIR_RESTREAM_SECRET, and redacts the secret', () => {
    const c = loadConfig({ ONAIR_RESTREAM_ALLOW_PRIVATE: '1', ONAIR_RESTREAM_SECRET: 's'.repeat(40) });
    expect(c.restreamAllowPrivate).toBe(true);
    expect(c.restreamSecret).toBe('s'.repeat(40));
    expect(describeConfig(c).restreamSecret).toBe('<redacted>');
    expect(loadConfig({}).restreamAllowPrivate).toBe(false);
    expect(() => loadConfig({ ONAIR_RESTREAM_ALLOW_PRIVATE: 'yes' })).toThrow(/ONAIR_RESTREAM_ALLOW_PRIVATE/);
    expect(() => loadConfig({ ONAIR_RESTREAM_SECRET: 'short' })).toThrow(/ONAIR_RESTREAM_SECRET/);
  });
});
