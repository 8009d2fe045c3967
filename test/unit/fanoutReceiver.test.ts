/**
 * The fan-out benchmark's lightweight receiver speaks just enough STUN for mediasoup's ICE-lite server and
 * counts RTP from clear headers (bench/fanout). Its STUN is checked against werift's independent parser.
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Message, parseMessage } from 'werift';
import { classify, RtpStreamCounter } from '../../bench/fanout/rtp.js';
import { bindingRequest, isBindingSuccess } from '../../bench/fanout/stun.js';

const BINDING = 0x0001;
const SUCCESS = 0x0100;

describe('STUN Binding Request for ICE-lite', () => {
  const transactionId = crypto.randomBytes(12);
  const tieBreaker = crypto.randomBytes(8);
  const request = bindingRequest({ serverUfrag: 'srvufrag', clientUfrag: 'cli', serverPassword: 'server-password-22chars', transactionId, tieBreaker });

  it('carries a MESSAGE-INTEGRITY keyed with the server password and a valid FINGERPRINT', () => {
    const parsed = parseMessage(request, Buffer.from('server-password-22chars'));
    expect(parsed).toBeDefined();
    expect(parsed!.messageMethod).toBe(BINDING);
    expect(parsed!.transactionId.equals(transactionId)).toBe(true);
    expect(parseMessage(request, Buffer.from('another-password'))).toBeUndefined();
  });

  it('names the server first in USERNAME, and is controlling with USE-CANDIDATE and a PRIORITY', () => {
    const parsed = parseMessage(request)!;
    expect(parsed.getAttributeValue('USERNAME')).toBe('srvufrag:cli');
    expect(parsed.getAttributeValue('PRIORITY')).toBeGreaterThan(0);
    expect(BigInt(parsed.getAttributeValue('ICE-CONTROLLING'))).toBe(tieBreaker.readBigUInt64BE());
    expect(parsed.attributesKeys).toContain('USE-CANDIDATE');
    expect(parsed.attributesKeys).not.toContain('ICE-CONTROLLED');
  });

  it('recognises the success response to its own transaction only', () => {
    const response = (id: Buffer) => new Message(BINDING, SUCCESS, id).bytes;
    expect(isBindingSuccess(response(transactionId), transactionId)).toBe(true);
    expect(isBindingSuccess(response(crypto.randomBytes(12)), transactionId)).toBe(false);
    expect(isBindingSuccess(request, transactionId)).toBe(false);
  });
});

describe('datagram classes on a WebRTC 5-tuple', () => {
  const rtp = (pt: number, marker = false) => Buffer.from([0x80, (marker ? 0x80 : 0) | pt, ...new Array<number>(10).fill(0)]);
  it('tells STUN, DTLS, RTP and RTCP apart by their first bytes', () => {
    expect(classify(bindingRequest({ serverUfrag: 'a', clientUfrag: 'b', serverPassword: 'c', transactionId: Buffer.alloc(12), tieBreaker: Buffer.alloc(8) }))).toBe('stun');
    expect(classify(Buffer.from([22, 0xfe, 0xfd]))).toBe('dtls');
    expect(classify(rtp(101))).toBe('rtp');
    expect(classify(rtp(100, true))).toBe('rtp');
    expect(classify(rtp(200 - 128, true))).toBe('rtcp'); // sender report
    expect(classify(Buffer.alloc(0))).toBe('other');
  });
});

describe('RtpStreamCounter', () => {
  const count = (sequences: number[]) => {
    const c = new RtpStreamCounter();
    for (const s of sequences) c.record(s & 0xffff, 100);
    return c;
  };

  it('expects every number from the first to the highest', () => {
    const c = count([10, 11, 12, 15]);
    expect([c.received, c.expected, c.bytes]).toEqual([4, 6, 400]);
  });

  it('follows sequence numbers across the 16-bit wrap', () => {
    const c = count([65533, 65534, 65535, 0, 1, 3]);
    expect([c.received, c.expected]).toEqual([6, 7]);
  });

  it('counts a late packet as received without moving the highest number', () => {
    const c = count([65535, 1, 0, 2]);
    expect([c.received, c.expected]).toEqual([4, 4]);
  });
});
