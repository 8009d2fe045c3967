/** The pure parts of RTMP/SRT ingest: settings, the copy-or-transcode decision and its ffmpeg command, keys, the FLV probe. */
import AVPacket from 'node-media-server/src/core/avpacket.js';
import { describe, expect, it } from 'vitest';
import { parseIngestConfig } from '../../server/ingest/ingestConfig.js';
import { ingestInputOptions, ingestOutputArgs, planIngest, routableH264Profile, videoRtpParameters, type InputFacts } from '../../server/ingest/ingestPlan.js';
import { FlvProbe } from '../../server/ingest/rtmp/FlvProbe.js';
import { streamForKey } from '../../server/ingest/streamKeys.js';

const h264 = (over: Partial<NonNullable<InputFacts['video']>> = {}): InputFacts['video'] => ({
  codec: 'h264', profileIdc: 77, constraintFlags: 0x40, levelIdc: 31, reordered: false, width: 1280, height: 720, ...over,
});

describe('ingest settings', () => {
  it('defaults to 1935 and 8890, takes a port or "off", refuses anything else', () => {
    expect(parseIngestConfig({})).toEqual({ rtmpPort: 1935, srtPort: 8890 });
    expect(parseIngestConfig({ ONAIR_RTMP_PORT: 'off', ONAIR_SRT_PORT: '9000' })).toEqual({ rtmpPort: null, srtPort: 9000 });
    expect(parseIngestConfig({ ONAIR_RTMP_PORT: '0', ONAIR_SRT_PORT: '' })).toEqual({ rtmpPort: 0, srtPort: 8890 });
    for (const bad of ['70000', '-1', 'on', '19.5', 'false']) expect(() => parseIngestConfig({ ONAIR_RTMP_PORT: bad })).toThrow(/ONAIR_RTMP_PORT/);
  });
});

describe('copy or transcode', () => {
  it('copies H.264 without B-frames in constrained baseline or main, with its own profile-level-id', () => {
    expect(planIngest({ video: h264(), audio: { codec: 'aac' } })).toEqual({
      video: { mode: 'copy', profileLevelId: '4d401f', height: 720 },
      audio: { mode: 'transcode' },
    });
    expect(routableH264Profile(66, 0xc0, 30)).toBe('42c01e');
  });

  it('re-encodes B-frames (OBS defaults), unknown frame order, high profile, plain baseline and other codecs', () => {
    expect(planIngest({ video: h264({ reordered: true }) }).video).toEqual({ mode: 'transcode', reason: 'B-frames', height: 720 });
    expect(planIngest({ video: h264({ reordered: undefined }) }).video).toMatchObject({ mode: 'transcode', reason: 'frame order unknown' });
    expect(planIngest({ video: h264({ profileIdc: 100, constraintFlags: 0 }) }).video).toMatchObject({ mode: 'transcode' });
    // Baseline without constraint_set1 may use FMO/ASO, which WebRTC decoders do not take.
    expect(planIngest({ video: h264({ profileIdc: 66, constraintFlags: 0 }) }).video).toMatchObject({ mode: 'transcode' });
    expect(planIngest({ video: { codec: 'other', reordered: undefined, height: 1080 } }).video).toEqual({ mode: 'transcode', reason: 'not H.264', height: 1080 });
  });

  it('builds one RTP output per track, the last as the output URL', () => {
    const targets = {
      video: { port: 40000, rtcpPort: 40001, payloadType: 102, ssrc: 1111 },
      audio: { port: 40002, rtcpPort: 40003, payloadType: 100, ssrc: 2222 },
    };
    const transcoded = ingestOutputArgs({ video: { mode: 'transcode', reason: 'B-frames', height: 720 }, audio: { mode: 'transcode' } }, targets);
    expect(transcoded.output).toBe('rtp://127.0.0.1:40002?rtcpport=40003&pkt_size=1200');
    expect(transcoded.outputOptions.join(' ')).toBe(
      '-map 0:v:0 -c:v libx264 -preset ultrafast -tune zerolatency -profile:v baseline -pix_fmt yuv420p -bf 0 -fps_mode passthrough ' +
        '-force_key_frames expr:gte(t,n_forced*1) -b:v 3000k -maxrate 3000k -bufsize 3000k ' +
        '-payload_type 102 -ssrc 1111 -f rtp rtp://127.0.0.1:40000?rtcpport=40001&pkt_size=1200 ' +
        '-map 0:a:0 -c:a libopus -ar 48000 -ac 2 -b:a 128k -application lowdelay -payload_type 100 -ssrc 2222 -f rtp',
    );
    const copied = ingestOutputArgs({ video: { mode: 'copy', profileLevelId: '4d401f', height: 720 } }, targets);
    expect(copied.outputOptions.join(' ')).toBe('-map 0:v:0 -c:v copy -bsf:v h264_mp4toannexb -payload_type 102 -ssrc 1111 -f rtp');
    expect(copied.output).toBe('rtp://127.0.0.1:40000?rtcpport=40001&pkt_size=1200');
    expect(() => ingestOutputArgs({}, targets)).toThrow(/video or an audio/);
    expect(ingestInputOptions('flv')).toEqual(['-f', 'flv', '-analyzeduration', '1000000']);
    expect(videoRtpParameters({ mode: 'transcode', reason: '', height: 720 }, 5).codecs[0]?.parameters['profile-level-id']).toBe('42e01f');
  });
});

describe('stream keys', () => {
  const stream = { id: 'abc', streamKey: 'sk_0123456789abcdefABCDEF_-xyz' };
  const find = (key: string) => (key === stream.streamKey ? stream : undefined);
  it('opens the stream of its key, nothing for a wrong or malformed key (not even a look-up)', async () => {
    expect(await streamForKey(stream.streamKey, find)).toBe('abc');
    expect(await streamForKey('sk_wrong-key-000000', find)).toBeUndefined();
    let lookups = 0;
    const counting = (k: string) => (lookups++, find(k));
    for (const bad of ['', 'short', 'a'.repeat(129), 'sk_with space', 'sk_x?y=1', '../../etc']) expect(await streamForKey(bad, counting)).toBeUndefined();
    expect(lookups).toBe(0);
  });
});

/** An FLV video packet as node-media-server's RTMP engine hands it over. */
const videoPacket = (flags: number, dts: number, cts: number): AVPacket => {
  const p = new AVPacket();
  p.codec_type = 9;
  p.codec_id = 7;
  p.flags = flags;
  p.dts = dts;
  p.pts = dts + cts;
  p.data = Buffer.from([flags === 3 ? 0x17 : 0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]);
  p.size = p.data.length;
  return p;
};

describe('FLV probe', () => {
  it('decides at the first reordered frame (B-frames), and hands back the header and every tag', () => {
    const probe = new FlvProbe();
    expect(probe.add(videoPacket(3, 0, 66))).toBe(false);
    expect(probe.add(videoPacket(4, 33, 100))).toBe(false);
    expect(probe.add(videoPacket(4, 66, 0))).toBe(true);
    expect(probe.facts.video).toMatchObject({ codec: 'h264', reordered: true });
    const flv = probe.take();
    expect(flv.subarray(0, 3).toString()).toBe('FLV');
    expect(flv[4]).toBe(1); // video only
    expect(flv.length).toBe(13 + 3 * (11 + 10 + 4));
  });

  it('decides "in order" after twelve frames in presentation order', () => {
    const probe = new FlvProbe();
    let decided = false;
    for (let i = 0; i < 13 && !decided; i++) decided = probe.add(videoPacket(i === 0 ? 3 : 4, i * 33, 0));
    expect(decided).toBe(true);
    expect(probe.facts.video?.reordered).toBe(false);
  });
});

describe('SRT stream ids and the TS probe', () => {
  it('takes the key, the access-control form (r=, live/ prefix, m=publish), percent-encoded or not; refuses receivers', async () => {
    const { keyOfStreamId } = await import('../../server/ingest/srt/srtStreamId.js');
    expect(keyOfStreamId('sk_abc')).toBe('sk_abc');
    expect(keyOfStreamId('#!::r=sk_abc,m=publish')).toBe('sk_abc');
    expect(keyOfStreamId('#!::m=publish,r=live/sk_abc')).toBe('sk_abc');
    expect(keyOfStreamId(encodeURIComponent('#!::r=live/sk_abc,m=publish'))).toBe('sk_abc');
    expect(keyOfStreamId('#!::r=sk_abc,m=request')).toBeNull();
    expect(keyOfStreamId('#!::m=publish')).toBeNull();
    expect(keyOfStreamId('')).toBeNull();
    expect(keyOfStreamId('%E0%A4%A')).toBeNull();
  });

  it('reads codecs, profile, size and B-frames from ffprobe\'s report', async () => {
    const { factsFromProbe } = await import('../../server/ingest/srt/tsProbe.js');
    const streams = [
      { index: 0, codec_type: 'video', codec_name: 'h264', profile: 'Main', level: 31, width: 1280, height: 720 },
      { index: 1, codec_type: 'audio', codec_name: 'aac' },
    ];
    const packets = (pts: number[]) => pts.map((p) => ({ stream_index: 0, pts: p, dts: p }));
    expect(factsFromProbe({ streams, packets: packets([0, 3000, 6000]) })).toEqual({
      audio: { codec: 'aac' },
      video: { codec: 'h264', reordered: false, profileIdc: 77, constraintFlags: 0x40, levelIdc: 31, width: 1280, height: 720 },
    });
    expect(factsFromProbe({ streams, packets: packets([0, 9000, 3000, 6000]) }).video?.reordered).toBe(true);
    expect(factsFromProbe({ streams, packets: [] }).video?.reordered).toBeUndefined();
    expect(() => factsFromProbe({ streams: 'nope' })).toThrow();
  });
});
