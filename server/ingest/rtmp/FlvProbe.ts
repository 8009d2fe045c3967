/**
 * Holds the first packets of an RTMP publish, as FLV tags, until it knows what the input is (InputFacts):
 * the codecs, the H.264 profile and picture size (from the AVC configuration record and its SPS, read by
 * node-media-server's SPS reader) and whether frames are reordered (B-frames: a presentation time earlier
 * than the previous frame's). Then ffmpeg starts and gets the held tags first.
 *
 * Deciding waits for 12 video frames after the first keyframe (x264 with B-frames shows a reordered frame
 * within its first mini-GOP), or at most 1.5 s of media, or 4 MB held: the only delay it adds is at the
 * start (the held tags go to ffmpeg at once, faster than real time).
 */
import type AVPacket from 'node-media-server/src/core/avpacket.js';
import Flv from 'node-media-server/src/protocol/flv.js';
import spsInfo from 'node-media-server/src/protocol/sps_info.js';
import type { InputFacts } from '../ingestPlan.js';

const FLV_AUDIO = 8;
const FLV_VIDEO = 9;
const CODEC_AVC = 7;
const CODEC_AAC = 10;
const FRAMES_TO_DECIDE = 12;
const MAX_HOLD_MS = 1500;
const MAX_HOLD_BYTES = 4 * 1024 * 1024;

export class FlvProbe {
  readonly #tags: Buffer[] = [];
  #bytes = 0;
  #firstDts: number | undefined;
  #lastDts = 0;
  #video: NonNullable<InputFacts['video']> | undefined;
  #audio: InputFacts['audio'];
  #framesSinceKey = -1;
  #lastPts: number | undefined;

  /** Takes one packet; returns true once the facts are known (then read `facts` and `take()`). */
  add(packet: AVPacket): boolean {
    const tag = Flv.createMessage(packet);
    this.#tags.push(tag);
    this.#bytes += tag.length;
    if (packet.codec_type === FLV_AUDIO) this.#audio ??= { codec: packet.codec_id === CODEC_AAC ? 'aac' : 'other' };
    if (packet.codec_type === FLV_VIDEO) this.#addVideo(packet);
    if (packet.codec_type === FLV_AUDIO || packet.codec_type === FLV_VIDEO) {
      this.#firstDts ??= packet.dts;
      this.#lastDts = packet.dts;
    }
    return this.decided;
  }

  get decided(): boolean {
    if (this.#video?.reordered === true) return true;
    if (this.#framesSinceKey >= FRAMES_TO_DECIDE) return true;
    if (this.#firstDts !== undefined && this.#lastDts - this.#firstDts >= MAX_HOLD_MS) return true;
    return this.#bytes >= MAX_HOLD_BYTES;
  }

  get facts(): InputFacts {
    const facts: InputFacts = {};
    if (this.#video) facts.video = { ...this.#video, reordered: this.#video.reordered ?? (this.#framesSinceKey > 0 ? false : undefined) };
    if (this.#audio) facts.audio = this.#audio;
    return facts;
  }

  /** The FLV header and every held tag, in order; the probe keeps nothing after. */
  take(): Buffer {
    const facts = this.facts;
    const out = Buffer.concat([Flv.createHeader(facts.audio !== undefined, facts.video !== undefined), ...this.#tags]);
    this.#tags.length = 0;
    return out;
  }

  #addVideo(packet: AVPacket): void {
    if (packet.codec_id !== CODEC_AVC) {
      this.#video ??= { codec: 'other', reordered: undefined };
      return;
    }
    this.#video ??= { codec: 'h264', reordered: undefined };
    if (packet.flags === 2) {
      this.#readConfiguration(packet.data.subarray(0, packet.size));
      return;
    }
    if (packet.flags === 3 && this.#framesSinceKey < 0) this.#framesSinceKey = 0;
    if (this.#framesSinceKey < 0) return;
    this.#framesSinceKey += 1;
    if (this.#lastPts !== undefined && packet.pts < this.#lastPts) this.#video.reordered = true;
    this.#lastPts = packet.pts;
  }

  /** AVCDecoderConfigurationRecord after the 5-byte FLV video header (ISO/IEC 14496-15, 5.3.3.1). */
  #readConfiguration(data: Buffer): void {
    const rec = data.subarray(5);
    if (rec.length < 8 || !this.#video) return;
    this.#video.profileIdc = rec[1];
    this.#video.constraintFlags = rec[2];
    this.#video.levelIdc = rec[3];
    const spsCount = rec[5]! & 0x1f;
    const spsLength = rec.readUInt16BE(6);
    if (spsCount < 1 || rec.length < 8 + spsLength) return;
    const size = spsInfo.parseH264Sps(rec.subarray(8, 8 + spsLength));
    if (size) {
      this.#video.width = size.width;
      this.#video.height = size.height;
    }
  }
}
