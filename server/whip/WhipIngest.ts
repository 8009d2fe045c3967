/**
 * WHIP ingest: turns a publisher's SDP offer into a live broadcast. The publisher is an ordinary broadcast
 * publisher ("whip:<session>") holding the broadcast's publisher lease, so socket viewers, viewer counts and
 * the outputs treat it like the studio. A stream live from another publisher is refused
 * (LiveError 'stream_busy'); a broadcast waiting for its dropped publisher is resumed.
 *
 * Lifetimes: the HTTP request owns what `publish` makes until the session exists: a request whose client went
 * away (its `signal` aborted) or whose broadcast ended meanwhile gets everything closed and its lease given
 * back. Then the session owns its transport and lease: the transport closing (the broadcast ended, its worker
 * died) forgets the session; the client going away (LivenessWatch) releases the lease (the broadcast waits for
 * it); DELETE ends the broadcast first, while the media still flows, so that its outputs finish cleanly.
 */
import type { types } from 'mediasoup';
import type { PublisherLease } from '../live/Broadcast.js';
import type { Broadcasts } from '../live/Broadcasts.js';
import { LiveError, ownerGone } from '../live/LiveError.js';
import type { Logger } from '../log/logger.js';
import { probeVideo } from '../ingest/VideoProbe.js';
import { planIngest } from './ingestPlan.js';
import { WHIP_LIMITS, WHIP_LIVENESS, type LivenessTimings } from './limits.js';
import { LivenessWatch } from './LivenessWatch.js';
import { refusedAsOfferError } from './OfferError.js';
import { SessionRegistry } from './SessionRegistry.js';
import { dtlsRoles, writeAnswer } from './sdpAnswer.js';
import { parseOffer } from './sdpOffer.js';
import { newSessionId } from './sessionIds.js';
import { WhipSession } from './WhipSession.js';

export interface WhipIngestDeps {
  broadcasts: Broadcasts;
  /** The routers' RTP capabilities (the same for every router of the pool). */
  rtpCapabilities: () => types.RtpCapabilities;
  logger: Logger;
  liveness?: LivenessTimings;
}

export class WhipIngest {
  readonly #broadcasts: Broadcasts;
  readonly #rtpCapabilities: () => types.RtpCapabilities;
  readonly #log: Logger;
  readonly #liveness: LivenessTimings;
  readonly #sessions: SessionRegistry<WhipSession>;

  constructor(deps: WhipIngestDeps) {
    this.#broadcasts = deps.broadcasts;
    this.#rtpCapabilities = deps.rtpCapabilities;
    this.#log = deps.logger.child({ component: 'whip' });
    this.#liveness = deps.liveness ?? WHIP_LIVENESS;
    this.#sessions = new SessionRegistry();
  }

  /** Session `id` of stream `streamId`. */
  session(id: string, streamId: string): WhipSession | undefined {
    return this.#sessions.get(id, streamId);
  }

  /** Starts (or resumes) the stream's broadcast from this offer; returns the session and the SDP answer. */
  async publish(streamId: string, offerText: string, signal?: AbortSignal): Promise<{ session: WhipSession; answer: string; resumed: boolean }> {
    const offer = parseOffer(offerText, { maxMediaSections: WHIP_LIMITS.maxMediaSections });
    const plan = planIngest(offer, this.#rtpCapabilities(), { maxSimulcastLayers: WHIP_LIMITS.maxSimulcastLayers });
    const id = newSessionId();
    const publisherId = `whip:${id}`;
    const log = this.#log.child({ streamId, session: id });
    // Throws LiveError('stream_busy') when someone else is sending this stream.
    const { broadcast, lease, resumed } = await this.#broadcasts.start(streamId, publisherId, { signal });

    let transport: types.WebRtcTransport | undefined;
    let answer: string;
    const producers: types.Producer[] = [];
    try {
      transport = await broadcast.router.createWebRtcTransport({
        webRtcServer: broadcast.webRtcServer,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        appData: { whip: id, streamId },
      });
      await transport.setMaxIncomingBitrate(WHIP_LIMITS.maxIncomingBitrate).catch(() => undefined);
      const roles = dtlsRoles(offer.setup);
      await transport.connect({ dtlsParameters: { role: roles.clientRole, fingerprints: offer.fingerprints as types.DtlsFingerprint[] } });
      for (const track of plan.tracks) {
        const t = transport;
        producers.push(
          await refusedAsOfferError(`${track.kind}`, () => t.produce({ kind: track.kind, rtpParameters: track.rtpParameters, appData: { source: 'whip', whip: id } })),
        );
      }
      answer = writeAnswer({
        sections: plan.sections,
        transport: { iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, fingerprints: transport.dtlsParameters.fingerprints },
        setup: roles.answerSetup,
      });
    } catch (err) {
      transport?.close();
      this.#giveBack(lease, resumed);
      throw err;
    }
    if (signal?.aborted || !lease.held || transport.closed) {
      // The client went away, or the broadcast ended or was taken over, while this publisher was being set up.
      transport.close();
      this.#giveBack(lease, resumed);
      if (signal?.aborted) throw ownerGone('WHIP publish');
      broadcast.assertLive('WHIP publish');
      throw new LiveError('not_publisher', 'another publisher took this stream while this one was starting');
    }

    const session = new WhipSession({ id, streamId, transport, lease });
    this.#sessions.add(session);
    session.once('closed', ({ reason }) => log.info({ reason }, 'WHIP session closed'));
    session.watch(
      new LivenessWatch(transport, this.#liveness, {
        onGone: (reason) => {
          log.warn({ reason }, 'WHIP publisher gone; the broadcast waits for it');
          lease.release();
          session.close(reason);
        },
        onConnected: () => log.info('WHIP publisher connected'),
      }),
    );
    for (const p of producers) broadcast.addProducer(lease, p, 'whip');
    const video = producers.find((p) => p.kind === 'video');
    if (video) void this.#watchVideo(session, video, log);
    const rejected = plan.sections.flatMap((s) => (s.accepted ? [] : [`${s.media.index}: ${s.reason}`]));
    log.info({ resumed, tracks: plan.tracks.map((t) => `${t.kind}:${t.rtpParameters.codecs[0]?.mimeType}x${t.rtpParameters.encodings?.length ?? 1}`), rejected }, 'WHIP session started');
    return { session, answer, resumed };
  }

  /**
   * DELETE: the publisher hangs up, which ends the broadcast: its outputs finish while this session's media
   * still flows (ffmpeg writes its last segment), then the router closes and with it this session's transport.
   * Settles once the broadcast has ended. Returns false when there is no such session.
   */
  async end(id: string, streamId: string): Promise<boolean> {
    const session = this.#sessions.get(id, streamId);
    if (!session) return false;
    if (session.lease.held) await session.lease.broadcast.end('the broadcaster ended the stream');
    session.close('the publisher ended the session');
    return true;
  }

  /** Closes every session and stops listening (shutdown); their broadcasts are ended by their owner. */
  close(): void {
    this.#sessions.close('the server is shutting down');
  }

  /**
   * Reads the video's first keyframe (server/ingest/VideoProbe.ts): its size goes on the producer. Video
   * whose keyframes never arrive for 5 s of media (VP8 without PictureID, which mediasoup 3.12 cannot
   * forward) ends the broadcast with the reason, which viewers, the owner's studio and the log are told;
   * the client's session closes (its DTLS connection gets a close alert).
   */
  async #watchVideo(session: WhipSession, producer: types.Producer, log: Logger): Promise<void> {
    const { lease } = session;
    const abort = new AbortController();
    session.once('closed', () => abort.abort());
    const probe = await probeVideo(lease.broadcast.router, producer, { signal: abort.signal });
    abort.abort();
    if (probe.outcome === 'size') {
      producer.appData.width = probe.size.width;
      producer.appData.height = probe.size.height;
      log.info({ size: `${probe.size.width}x${probe.size.height}` }, 'WHIP video size read');
    } else if (probe.outcome === 'undecodable' && lease.held) {
      log.warn({ reason: probe.reason }, 'WHIP video cannot be played: ending the broadcast');
      await lease.broadcast.end(`the publisher's video cannot be played: ${probe.reason}`);
      session.close(probe.reason);
    }
  }

  /** A publish that failed half-way: undo the broadcast start (a new broadcast ends, a resumed one waits again). */
  #giveBack(lease: PublisherLease, resumed: boolean): void {
    if (!lease.held) return;
    if (resumed) lease.release();
    else void lease.broadcast.end('the WHIP publisher could not start');
  }
}
