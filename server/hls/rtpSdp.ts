/**
 * The SDP ffmpeg reads to receive mediasoup's RTP: one m-line per consumer, on the local port pair the bridge
 * took for it. Built from the consumers' RTP parameters (codec, payload type, fmtp).
 */
export interface RtpInput {
  kind: 'audio' | 'video';
  port: number;
  payloadType: number;
  /** e.g. "VP8", "H264", "opus". */
  codec: string;
  clockRate: number;
  channels?: number | undefined;
  parameters?: Record<string, unknown> | undefined;
}

export function rtpSdp(inputs: RtpInput[]): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=OnAir HLS bridge', 'c=IN IP4 127.0.0.1', 't=0 0'];
  for (const i of inputs) {
    lines.push(`m=${i.kind} ${i.port} RTP/AVP ${i.payloadType}`);
    lines.push(`a=rtcp:${i.port + 1}`);
    lines.push(`a=rtpmap:${i.payloadType} ${i.codec}/${i.clockRate}${i.channels ? `/${i.channels}` : ''}`);
    const fmtp = Object.entries(i.parameters ?? {})
      .filter(([k, v]) => /^[a-z0-9-]+$/i.test(k) && /^[\w.-]+$/.test(String(v)) && !k.startsWith('x-google'))
      .map(([k, v]) => `${k}=${String(v)}`);
    if (fmtp.length) lines.push(`a=fmtp:${i.payloadType} ${fmtp.join(';')}`);
    lines.push('a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}
