import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { ffmpegCommandLine, type FfmpegPlan } from '../../server/hls/ffmpegArgs.js';
import { kbpsFor, ladderFor, parseLadder } from '../../server/hls/ladder.js';
import { composeMediaPlaylist, parseMediaPlaylist, rewriteMaster } from '../../server/hls/playlists.js';
import { PortPool } from '../../server/hls/PortPool.js';
import { rtpSdp } from '../../server/hls/rtpSdp.js';

const plan = (over: Partial<FfmpegPlan> = {}): FfmpegPlan => ({
  sdpPath: '/d/e0/input.sdp',
  outDir: '/d/e0',
  rungs: ladderFor([1080, 720, 480, 360], 720),
  copyTop: false,
  hasAudio: true,
  segmentSeconds: 1,
  fps: 30,
  preset: 'veryfast',
  inputTimeoutSeconds: 2,
  ...over,
});

/** The value following a flag (the first occurrence). */
const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('ladder', () => {
  it('parses ONAIR_HLS_LADDER and refuses nonsense', () => {
    expect(parseLadder('720, 1080p,360,720')).toEqual([1080, 720, 360]);
    for (const bad of ['', 'abc', '721', '100', '4320', '1080,-2']) expect(() => parseLadder(bad)).toThrow();
  });

  it('never goes above the source, and keeps at least the lowest rung', () => {
    expect(ladderFor([1080, 720, 480, 360], 720).map((r) => r.height)).toEqual([720, 480, 360]);
    expect(ladderFor([1080, 720, 480, 360], 1080).map((r) => r.height)).toEqual([1080, 720, 480, 360]);
    expect(ladderFor([1080, 720], 240).map((r) => r.height)).toEqual([720]);
    expect(kbpsFor(720)).toBe(2500);
    expect(kbpsFor(600)).toBeGreaterThan(kbpsFor(480));
  });
});

describe('ffmpeg arguments', () => {
  it('transcodes the ladder: H.264 main, keyframes on 1 s segment boundaries, AAC, one variant per rung', () => {
    const args = ffmpegCommandLine(plan());
    expect(args.slice(0, 2)).toEqual(['-hide_banner', '-loglevel']);
    expect(after(args, '-i')).toBe('/d/e0/input.sdp');
    expect(after(args, '-protocol_whitelist')).toBe('file,udp,rtp');
    // A forgotten ffmpeg ends by itself when its RTP stops (or never comes), in seconds rather than 20.
    expect(after(args, '-listen_timeout')).toBe('2');
    expect(args.indexOf('-listen_timeout')).toBeLessThan(args.indexOf('-i'));
    expect(after(args, '-filter_complex')).toBe(
      '[0:v:0]fps=30,split=3[s0][s1][s2];[s0]scale=-2:720:flags=bicubic,format=yuv420p[v0];[s1]scale=-2:480:flags=bicubic,format=yuv420p[v1];[s2]scale=-2:360:flags=bicubic,format=yuv420p[v2]',
    );
    expect(after(args, '-c:v:0')).toBe('libx264');
    expect(after(args, '-b:v:0')).toBe('2500k');
    expect(after(args, '-b:v:2')).toBe('600k');
    expect(after(args, '-profile:v')).toBe('main');
    expect(after(args, '-g')).toBe('30');
    expect(after(args, '-force_key_frames')).toBe('expr:gte(t,n_forced*1)');
    expect(after(args, '-c:a')).toBe('aac');
    expect(after(args, '-hls_time')).toBe('1');
    expect(after(args, '-var_stream_map')).toBe('v:0,a:0 v:1,a:1 v:2,a:2');
    expect(after(args, '-hls_segment_filename')).toBe('/d/e0/r%v_%05d.ts');
    expect(args.at(-1)).toBe('/d/e0/r%v.m3u8');
    // One argument per array element: nothing is meant for a shell.
    expect(args.every((a) => typeof a === 'string' && a.length > 0)).toBe(true);
  });

  it('copies an H.264 source into the top rung and encodes only the others', () => {
    const args = ffmpegCommandLine(plan({ copyTop: true }));
    expect(after(args, '-c:v:0')).toBe('copy');
    expect(after(args, '-c:v:1')).toBe('libx264');
    expect(args).not.toContain('-b:v:0');
    expect(after(args, '-filter_complex')).toBe('[0:v:0]fps=30,split=2[s0][s1];[s0]scale=-2:480:flags=bicubic,format=yuv420p[v1];[s1]scale=-2:360:flags=bicubic,format=yuv420p[v2]');
    const maps = args.flatMap((a, i) => (a === '-map' ? [args[i + 1]] : []));
    expect(maps.slice(0, 3)).toEqual(['0:v:0', '[v1]', '[v2]']);
  });

  it('leaves audio out when there is none, and follows the segment length', () => {
    const args = ffmpegCommandLine(plan({ hasAudio: false, segmentSeconds: 2 }));
    expect(args).not.toContain('0:a:0');
    expect(args).not.toContain('aac');
    expect(after(args, '-var_stream_map')).toBe('v:0 v:1 v:2');
    expect(after(args, '-g')).toBe('60');
    expect(after(args, '-force_key_frames')).toBe('expr:gte(t,n_forced*2)');
  });
});

describe('the SDP ffmpeg reads', () => {
  it('describes each consumer on its port, with fmtp but never x-google parameters or odd values', () => {
    const sdp = rtpSdp([
      { kind: 'video', port: 30000, payloadType: 102, codec: 'H264', clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'x-google-start-bitrate': 1000, 'evil\r\na': 'x' } },
      { kind: 'audio', port: 30002, payloadType: 100, codec: 'opus', clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } },
    ]);
    expect(sdp.split('\r\n')).toEqual([
      'v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=OnAir HLS bridge', 'c=IN IP4 127.0.0.1', 't=0 0',
      'm=video 30000 RTP/AVP 102', 'a=rtcp:30001', 'a=rtpmap:102 H264/90000', 'a=fmtp:102 packetization-mode=1;profile-level-id=42e01f', 'a=recvonly',
      'm=audio 30002 RTP/AVP 100', 'a=rtcp:30003', 'a=rtpmap:100 opus/48000/2', 'a=fmtp:100 useinbandfec=1', 'a=recvonly',
      '',
    ]);
  });
});

describe('playlists', () => {
  const epoch = (n: number, from = 0) =>
    parseMediaPlaylist(
      ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:EVENT']
        .concat(Array.from({ length: n }, (_, i) => [`#EXTINF:1.000000,`, `r0_${String(from + i).padStart(5, '0')}.ts`]).flat())
        .join('\n'),
    );

  it('parses ffmpeg playlists', () => {
    const p = epoch(3);
    expect(p.segments).toEqual([
      { file: 'r0_00000.ts', duration: 1 },
      { file: 'r0_00001.ts', duration: 1 },
      { file: 'r0_00002.ts', duration: 1 },
    ]);
    expect(p.ended).toBe(false);
  });

  it('joins epochs with a discontinuity and slides the live window with the right sequence numbers', () => {
    const text = composeMediaPlaylist({ epochs: [{ dir: 'e0', playlist: epoch(5) }, { dir: 'e1', playlist: epoch(3) }], window: 4, ended: false });
    expect(text.split('\n')).toEqual([
      '#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:4', '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXTINF:1.000000,', 'e0/r0_00004.ts',
      '#EXT-X-DISCONTINUITY', '#EXTINF:1.000000,', 'e1/r0_00000.ts',
      '#EXTINF:1.000000,', 'e1/r0_00001.ts',
      '#EXTINF:1.000000,', 'e1/r0_00002.ts',
      '',
    ]);
    // Once the discontinuity slid out of the window, it is counted in the discontinuity sequence.
    const later = composeMediaPlaylist({ epochs: [{ dir: 'e0', playlist: epoch(5) }, { dir: 'e1', playlist: epoch(8) }], window: 4, ended: false });
    expect(later).toContain('#EXT-X-MEDIA-SEQUENCE:9');
    expect(later).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1');
    expect(later).not.toContain('#EXT-X-DISCONTINUITY\n');
  });

  it('rounds the target duration as RFC 8216 says (1.03 s segments are 1 s, not 2)', () => {
    const p = parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.033333,\nr0_00000.ts\n#EXTINF:0.966667,\nr0_00001.ts\n');
    expect(composeMediaPlaylist({ epochs: [{ dir: 'e0', playlist: p }], window: 6, ended: false })).toContain('#EXT-X-TARGETDURATION:1\n');
    const long = parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.6,\nr0_00000.ts\n');
    expect(composeMediaPlaylist({ epochs: [{ dir: 'e0', playlist: long }], window: 6, ended: false })).toContain('#EXT-X-TARGETDURATION:2\n');
  });

  it('gives the whole session with ENDLIST once ended, carrying a query on every URI', () => {
    const text = composeMediaPlaylist({ epochs: [{ dir: 'e0', playlist: epoch(2) }, { dir: 'e1', playlist: epoch(1) }], window: 1, ended: true, query: '?token=abc' });
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:0');
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(text.match(/\.ts\?token=abc/g)).toHaveLength(3);
    expect(text.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });

  it('points the master playlist at OnAir\'s composed renditions', () => {
    const master = '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-STREAM-INF:BANDWIDTH=2890800,RESOLUTION=1280x720,CODECS="avc1.4d401f,mp4a.40.2"\nr0.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=1240800,RESOLUTION=854x480,CODECS="avc1.4d401e,mp4a.40.2"\nr1.m3u8\n';
    expect(rewriteMaster(master, 'S/', '?t=1').split('\n')).toEqual([
      '#EXTM3U', '#EXT-X-VERSION:6',
      '#EXT-X-STREAM-INF:BANDWIDTH=2890800,RESOLUTION=1280x720,CODECS="avc1.4d401f,mp4a.40.2"', 'S/r0.m3u8?t=1',
      '#EXT-X-STREAM-INF:BANDWIDTH=1240800,RESOLUTION=854x480,CODECS="avc1.4d401e,mp4a.40.2"', 'S/r1.m3u8?t=1',
      '',
    ]);
  });
});

describe('PortPool', () => {
  it('hands out even ports (RTP) leaving the odd one for RTCP, and takes them back', async () => {
    const pool = new PortPool(39001, 39008);
    expect(pool.available).toBe(3);
    const a = await pool.take();
    const b = await pool.take();
    const c = await pool.take();
    expect([a, b, c]).toEqual([39002, 39004, 39006]);
    await expect(pool.take()).rejects.toThrow(/no free ports/);
    pool.give(b);
    pool.give(b);
    pool.give(12345);
    expect(pool.available).toBe(1);
    expect(await pool.take()).toBe(39004);
  });

  it('skips ports another process holds', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(39013, '127.0.0.1', () => r()));
    try {
      const pool = new PortPool(39010, 39016);
      // 39012 is free but its RTCP neighbour 39013 is not.
      expect(await pool.take()).toBe(39010);
      expect(await pool.take()).toBe(39014);
      await expect(pool.take()).rejects.toThrow(/no free ports/);
    } finally {
      holder.close();
    }
  });
});
