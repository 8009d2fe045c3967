/**
 * Types for the parts of node-media-server 4.4.3 (pinned in package.json) that the RTMP ingest uses: its RTMP
 * protocol engine (handshake, chunk stream, AMF commands), its FLV tag writer and its SPS reader. They are
 * CommonJS modules without types; only what OnAir calls is declared.
 */
declare module 'node-media-server/src/core/avpacket.js' {
  class AVPacket {
    /** FLV SoundFormat / CodecID (7 = AVC, 10 = AAC). */
    codec_id: number;
    /** FLV tag type: 8 audio, 9 video, 18 script data. */
    codec_type: number;
    /** 0 audio sequence header, 1 audio frame, 2 video sequence header, 3 keyframe, 4 inter frame, 5 metadata. */
    flags: number;
    pts: number;
    dts: number;
    size: number;
    /** The tag's body; for RTMP input a view of the parser's reused buffer: copy before keeping it. */
    data: Buffer;
  }
  export = AVPacket;
}

declare module 'node-media-server/src/protocol/rtmp.js' {
  import type AVPacket from 'node-media-server/src/core/avpacket.js';
  class Rtmp {
    streamId: number;
    onConnectCallback: (req: { app: string; name: string; host: string; query: Record<string, unknown> }) => void;
    onPlayCallback: () => void;
    onPushCallback: () => void;
    onPacketCallback: (packet: AVPacket) => void;
    onOutputCallback: (buffer: Buffer) => void;
    /** Feeds received bytes; returns an error text, or null. May throw on malformed input. */
    parserData(buffer: Buffer): string | null;
    /** Chunk streams being reassembled, each with its allocated payload buffer. */
    inPackets: Map<number, { capacity: number }>;
    respondPublish(): void;
    onDeleteStream(message: unknown): void;
    sendStatusMessage(sid: number, level: string, code: string, description: string): void;
  }
  export = Rtmp;
}

declare module 'node-media-server/src/protocol/flv.js' {
  import type AVPacket from 'node-media-server/src/core/avpacket.js';
  class Flv {
    static createHeader(hasAudio: boolean, hasVideo: boolean): Buffer;
    /** A complete FLV tag (with its previous-tag-size trailer); copies the packet's data. */
    static createMessage(packet: AVPacket): Buffer;
  }
  export = Flv;
}

declare module 'node-media-server/src/protocol/sps_info.js' {
  const spsInfo: {
    /** Width and height from an H.264 SPS NAL unit (with its header byte), or null. */
    parseH264Sps(sps: Buffer): { width: number; height: number } | null;
  };
  export = spsInfo;
}

declare module 'node-media-server/src/core/logger.js' {
  /** The engine's one logger (prints to the console); its `log` is replaced to send lines to OnAir's log. */
  const logger: { log(message: string, level?: string): void };
  export = logger;
}
