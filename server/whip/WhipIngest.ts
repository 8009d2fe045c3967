/**
 * WHIP ingest: turns a publisher's SDP offer into a live broadcast. The publisher is an ordinary broadcast
 * publisher ("whip:<session>"), so socket viewers, viewer counts and the HLS bridge treat it like the
 * studio. A stream live from another publisher is refused (BroadcastConflictError); a broadcast waiting for
 * its dropped publisher is resumed.
 *
 * Lifetimes: the session's transport closing (the broadcast ended, its worker died) forgets the session;
 * the client going away (LivenessWatch) makes the broadcast wait for it (`publisherLost`); DELETE ends it.
 */
import type { types } from 'mediasoup';
import type { Broadcast } from '../live/Broadcast.js';
import { BroadcastConflictError, type Broadcasts } from '../live/Broadcasts.js';
import type { Logger } from '../log/logger.js';
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
    this.#sessions = new SessionRegistry(deps.broadcasts);
  }

  /** Session `id` of stream `streamId`. */
  session(id: string, streamId: string): WhipSession | undefined {
    return this.#sessions.get(id, streamId);
  }

  /** Starts (or resumes) the stream's broadcast from this offer; returns the session and the SDP answer. */
  async publish(streamId: string, offerText: string): Promise<{ session: WhipSession; answer: string; resumed: boolean }> {
    const offer = parseOffer(offerText, { maxMediaSections: WHIP_LIMITS.maxMediaSections });
    const plan = planIngest(offer, this.#rtpCapabilities(), { maxSimulcastLayers: WHIP_LIMITS.maxSimulcastLayers });
    const id = newSessionId();
    const publisherId = `whip:${id}`;
    const log = this.#log.child({ streamId, session: id });
    // Throws BroadcastConflictError when someone else is sending this stream.
    const { broadcast, resumed } = await this.#broadcasts.start(streamId, publisherId);

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
      this.#giveBack(broadcast, publisherId, resumed);
      throw err;
    }
    if (broadcast.ended || transport.closed) {
      // Ended (e.g. the stream was deleted) while this publisher was being set up.
      transport.close();
      throw new BroadcastConflictError('the broadcast ended while this publisher was starting');
    }

    const session = new WhipSession({ id, streamId, transport });
    this.#sessions.add(session);
    session.once('closed', ({ reason }) => log.info({ reason }, 'WHIP session closed'));
    session.watch(
      new LivenessWatch(transport, this.#liveness, {
        onGone: (reason) => {
          log.warn({ reason }, 'WHIP publisher gone; the broadcast waits for it');
          broadcast.publisherLost(publisherId);
          session.close(reason);
        },
        onConnected: () => log.info('WHIP publisher connected'),
      }),
    );
    for (const p of producers) broadcast.addProducer(p, 'whip');
    const rejected = plan.sections.flatMap((s) => (s.accepted ? [] : [`${s.media.index}: ${s.reason}`]));
    log.info({ resumed, tracks: plan.tracks.map((t) => `${t.kind}:${t.rtpParameters.codecs[0]?.mimeType}x${t.rtpParameters.encodings?.length ?? 1}`), rejected }, 'WHIP session started');
    return { session, answer, resumed };
  }

  /** DELETE: the publisher hangs up, which ends the broadcast. Returns false when there is no such session. */
  end(id: string, streamId: string): boolean {
    const session = this.#sessions.get(id, streamId);
    if (!session) return false;
    const broadcast = this.#broadcasts.get(streamId);
    if (broadcast && !broadcast.ended && broadcast.publisher === session.publisherId) void broadcast.end('the broadcaster ended the stream');
    session.close('the publisher ended the session');
    return true;
  }

  /** Closes every session and stops listening (shutdown); their broadcasts are ended by their owner. */
  close(): void {
    this.#sessions.close('the server is shutting down');
  }

  /** A publish that failed half-way: undo the broadcast start. */
  #giveBack(broadcast: Broadcast, publisherId: string, resumed: boolean): void {
    if (broadcast.ended || broadcast.publisher !== publisherId) return;
    if (resumed) broadcast.publisherLost(publisherId);
    else void broadcast.end('the WHIP publisher could not start');
  }
}
