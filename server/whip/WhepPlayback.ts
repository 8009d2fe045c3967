/**
 * WHEP playback: a viewer's SDP offer (recvonly) becomes consumers of the live broadcast's audio and video,
 * on a router of the viewer's own (see playbackPlan.ts for why) fed through a RouterPipe, and an SDP answer.
 * WHEP viewers are counted in the stream's audience like socket viewers ("whep:<session>"), hold a WebRTC
 * seat of the broadcast like them (one cap for both: ViewerSeats), and leave both when their session closes:
 * DELETE, the client going away (LivenessWatch), a producer closing (there is no renegotiation in WHEP: the
 * player reconnects), or the broadcast ending: each session is an output of its broadcast, closed by it.
 *
 * Lifetimes: the HTTP request owns what `play` makes until the session exists (its seat, router, pipe,
 * transport): a request whose client went away (`signal`) or whose broadcast ended meanwhile closes it all.
 */
import type { types } from 'mediasoup';
import type { Broadcasts } from '../live/Broadcasts.js';
import type { Logger } from '../log/logger.js';
import type { PooledRouter, WorkerPool } from '../media/WorkerPool.js';
import { isRtx } from './codecMatching.js';
import { WHEP_LIVENESS, WHIP_LIMITS, type LivenessTimings } from './limits.js';
import { LivenessWatch } from './LivenessWatch.js';
import { LiveError, ownerGone } from '../live/LiveError.js';
import { refusedAsOfferError } from './OfferError.js';
import { RouterPipe } from './RouterPipe.js';
import { SessionRegistry } from './SessionRegistry.js';
import { planPlayback, playbackSection, type PlaybackSource } from './playbackPlan.js';
import { dtlsRoles, writeAnswer, type AnswerSection } from './sdpAnswer.js';
import { parseOffer } from './sdpOffer.js';
import { newSessionId } from './sessionIds.js';
import { WhepSession } from './WhepSession.js';

export interface WhepPlaybackDeps {
  broadcasts: Broadcasts;
  pool: WorkerPool;
  logger: Logger;
  liveness?: LivenessTimings;
}

export class WhepPlayback {
  readonly #broadcasts: Broadcasts;
  readonly #pool: WorkerPool;
  readonly #log: Logger;
  readonly #liveness: LivenessTimings;
  readonly #sessions: SessionRegistry<WhepSession>;

  constructor(deps: WhepPlaybackDeps) {
    this.#broadcasts = deps.broadcasts;
    this.#pool = deps.pool;
    this.#log = deps.logger.child({ component: 'whep' });
    this.#liveness = deps.liveness ?? WHEP_LIVENESS;
    this.#sessions = new SessionRegistry();
  }

  /** Session `id` of stream `streamId`. */
  session(id: string, streamId: string): WhepSession | undefined {
    return this.#sessions.get(id, streamId);
  }

  async play(streamId: string, offerText: string, signal?: AbortSignal): Promise<{ session: WhepSession; answer: string }> {
    const offer = parseOffer(offerText, { maxMediaSections: WHIP_LIMITS.maxMediaSections });
    // Cluster mode: a stream live on another node plays from this node's relay of it (opened now). A
    // broadcast here is taken without an await (on one machine the path is exactly as before).
    const broadcast = this.#broadcasts.viewable(streamId) ?? (await this.#broadcasts.watch(streamId));
    if (!broadcast || broadcast.ended) throw new LiveError('not_live', `stream ${streamId} is not live now`);
    if (signal?.aborted) throw ownerGone('WHEP play');
    const sources: PlaybackSource[] = (['audio', 'video'] as const).flatMap((kind) => {
      const p = broadcast.producerOfKind(kind);
      const codec = p?.rtpParameters.codecs.find((c) => !isRtx(c));
      return p && codec ? [{ kind, producerId: p.id, codec }] : [];
    });
    if (broadcast.state !== 'live' || sources.length === 0) {
      throw new LiveError('not_live', `stream ${streamId} is live but its broadcaster sends nothing now: try again in a moment`);
    }
    const plan = planPlayback(offer, sources);
    const id = newSessionId();
    const log = this.#log.child({ streamId, session: id });
    const viewerId = `whep:${id}`;
    // Taken before the awaits, given back exactly once: below if no session came of it, else when it closes.
    const seat = broadcast.seats.take(viewerId);
    const notLive = () => new LiveError('not_live', `stream ${streamId} stopped while this viewer was joining`);

    let media: PooledRouter | undefined;
    let transport: types.WebRtcTransport;
    let answer: string;
    const consumers: types.Consumer[] = [];
    try {
      media = await this.#pool.createRouterBeside(broadcast.router, plan.routerCodecs, { whep: id, streamId });
      const router = media.router;
      // Closes with the viewer's router (either end of the pipe closes the other).
      const pipe = await RouterPipe.open(broadcast.router, router);
      const piped = new Map<string, string>();
      for (const track of plan.tracks) piped.set(track.source.producerId, (await pipe.pipe(track.source.producerId, { whep: id })).id);
      transport = await router.createWebRtcTransport({
        webRtcServer: media.webRtcServer,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        initialAvailableOutgoingBitrate: WHIP_LIMITS.initialOutgoingBitrate,
        appData: { whep: id, streamId },
      });
      const roles = dtlsRoles(offer.setup);
      await transport.connect({ dtlsParameters: { role: roles.clientRole, fingerprints: offer.fingerprints as types.DtlsFingerprint[] } });
      const sections: AnswerSection[] = [...plan.rejected];
      for (const track of plan.tracks) {
        const t = transport;
        const consumer = await refusedAsOfferError(track.source.kind, () =>
          t.consume({
            producerId: piped.get(track.source.producerId)!,
            rtpCapabilities: track.rtpCapabilities,
            paused: true,
            enableRtx: false,
            ...(track.media.mid !== undefined ? { mid: track.media.mid } : {}),
          }),
        );
        consumers.push(consumer);
        sections.push(playbackSection(track, consumer, `onair-${streamId}`));
      }
      sections.sort((a, b) => a.media.index - b.media.index);
      // Simulcast consumers start at the top layer (mediasoup's default preference) and step down when the
      // viewer's bandwidth estimate says so. Resumed before the session exists: the checks below are the last.
      await Promise.all(consumers.map((c) => c.resume().catch(() => undefined)));
      answer = writeAnswer({
        sections,
        transport: { iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, fingerprints: transport.dtlsParameters.fingerprints },
        setup: roles.answerSetup,
      });
    } catch (err) {
      media?.router.close();
      seat.release();
      if (signal?.aborted) throw ownerGone('WHEP play');
      if (broadcast.ended || broadcast.state !== 'live') throw notLive();
      throw err;
    }
    if (signal?.aborted || broadcast.ended || consumers.some((c) => c.closed)) {
      media.router.close();
      seat.release();
      if (signal?.aborted) throw ownerGone('WHEP play');
      throw notLive();
    }

    const session = new WhepSession({ id, streamId, router: media.router, transport, consumers, sourceIds: plan.tracks.map((t) => t.source.producerId) });
    this.#sessions.add(session);
    this.#broadcasts.addViewer(streamId, session.viewerId);
    // The broadcast closes the session when it ends; the session leaves the broadcast when it closes first.
    const detach = broadcast.addOutput(session);
    session.once('closed', ({ reason }) => {
      detach();
      seat.release();
      this.#broadcasts.removeViewer(streamId, session.viewerId);
      log.info({ reason }, 'WHEP session closed');
    });
    session.watch(
      new LivenessWatch(transport, this.#liveness, {
        onGone: (reason) => void session.close(reason),
        // The viewer can decode from now on: a keyframe makes the picture appear at once.
        onConnected: () => session.requestKeyFrames(),
      }),
    );
    // No keyframe request yet: nothing reaches the viewer before DTLS connects (onConnected asks then).
    log.info({ tracks: consumers.map((c) => `${c.kind}:${c.type}`) }, 'WHEP session started');
    return { session, answer };
  }

  /** DELETE: the viewer leaves. Returns false when there is no such session. */
  async end(id: string, streamId: string): Promise<boolean> {
    const session = this.#sessions.get(id, streamId);
    if (!session) return false;
    session.close('the viewer ended the session');
    return true;
  }

  /** Closes every session and stops listening (shutdown). */
  close(): void {
    this.#sessions.close('the server is shutting down');
  }
}
