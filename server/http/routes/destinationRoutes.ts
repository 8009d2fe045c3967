/**
 * A stream's restream destinations (server/restream), for its owner or an admin.
 *   POST   /api/streams/:id/destinations           add one { name?, url, streamKey, enabled? } → 201 DestinationInfo
 *   GET    /api/streams/:id/destinations           list, with each one's live state       → DestinationList
 *   DELETE /api/streams/:id/destinations/:destId   remove (stops it if it runs)           → 204
 * The stream key is write-only: sealed (AES-256-GCM) before it is stored, returned only as a masked hint.
 * URLs: rtmp:// or rtmps:// only (zod); the host is resolved and refused when it is OnAir itself or a
 * loopback/private address, unless ONAIR_RESTREAM_ALLOW_PRIVATE=1 (destinationAddress.ts). At most
 * MAX_DESTINATIONS_PER_STREAM per stream. A destination added while the stream is live starts at once.
 */
import { Router, type Request } from 'express';
import { streamIdSchema } from '../../../shared/apiSchemas.js';
import { createDestinationBodySchema, MAX_DESTINATIONS_PER_STREAM, type DestinationInfo, type DestinationList } from '../../../shared/restream.js';
import { canManage } from '../../auth/access.js';
import { checkDestination, DestinationRefused } from '../../restream/destinationAddress.js';
import { keyHint, type KeySealer } from '../../restream/KeySealer.js';
import type { RestreamService } from '../../restream/RestreamService.js';
import { newDestinationId, type DestinationRecord, type DestinationStore } from '../../store/sql/DestinationStore.js';
import type { StreamRecord } from '../../store/sql/StreamStore.js';
import { KeyedSerial } from '../../limits/KeyedSerial.js';
import { StoreError } from '../../store/sql/errors.js';
import { ApiError } from '../ApiError.js';
import { authenticate } from '../middleware/auth.js';
import type { Services } from '../Services.js';
import { parse } from '../validate.js';

export interface DestinationRouteDeps {
  destinations: DestinationStore;
  restream: RestreamService;
  sealer: KeySealer;
  allowPrivate: boolean;
  /** OnAir's own RTMP ingest port (a destination there would loop), once known. */
  ownRtmpPort: () => number | null;
}

export function destinationRoutes(s: Services, d: DestinationRouteDeps): Router {
  const r = Router();
  const auth = authenticate(s.tokens, s.users);

  // Per stream: the count of its destinations and the insert run one request at a time (see KeyedSerial).
  const perStream = new KeyedSerial();
  const findManaged = async (req: Request): Promise<StreamRecord> => {
    const id = parse(streamIdSchema, req.params.id, 'stream id');
    const stream = await s.streams.byId(id);
    if (!stream) throw new ApiError('not_found', `no stream ${id}`);
    if (!canManage(req.user, stream)) throw new ApiError('forbidden', 'only the owner of this stream or an admin may do this');
    return stream;
  };
  const info = (rec: DestinationRecord): DestinationInfo => ({
    id: rec.id,
    streamId: rec.streamId,
    name: rec.name,
    url: rec.url,
    streamKeyHint: rec.keyHint,
    enabled: rec.enabled,
    createdAt: rec.createdAt,
    status: d.restream.status(rec),
  });

  r.post('/:id/destinations', auth, async (req, res) => {
    const stream = await findManaged(req);
    const body = parse(createDestinationBodySchema, req.body, 'destination');
    const full = async () => (await d.destinations.countByStream(stream.id)) >= MAX_DESTINATIONS_PER_STREAM;
    const fullError = () => new ApiError('conflict', `a stream has at most ${MAX_DESTINATIONS_PER_STREAM} destinations`);
    // Early, to spare the address check; again next to the insert, where it counts.
    if (await full()) throw fullError();
    const selfHosts = [req.hostname, s.config.publicUrl ? new URL(s.config.publicUrl).hostname : undefined].filter((h): h is string => !!h);
    try {
      await checkDestination(body.url, { allowPrivate: d.allowPrivate, selfHosts, ownRtmpPort: d.ownRtmpPort() });
    } catch (err) {
      if (err instanceof DestinationRefused) throw new ApiError('validation_failed', `destination refused: ${err.message}`, { issues: [{ path: 'url', message: err.message }] });
      throw err;
    }
    const url = new URL(body.url);
    const id = newDestinationId();
    const rec = await perStream.run(stream.id, async () => {
      if (await full()) throw fullError();
      return d.destinations.create({
        id,
        streamId: stream.id,
        name: body.name ?? url.hostname,
        url: body.url.replace(/\/+$/, ''),
        keySealed: d.sealer.seal(body.streamKey, id),
        keyHint: keyHint(body.streamKey),
        enabled: body.enabled,
      });
    }).catch((err: unknown) => {
      // The stream was deleted while the address was being checked: its foreign key refuses the row.
      if (err instanceof StoreError && err.reason === 'missing_reference') throw new ApiError('not_found', `no stream ${stream.id}`);
      throw err;
    });
    req.log.info({ streamId: stream.id, destinationId: id, host: url.hostname }, 'restream destination added');
    d.restream.added(rec);
    res.status(201).location(`/api/streams/${stream.id}/destinations/${id}`).json(info(rec));
  });

  r.get('/:id/destinations', auth, async (req, res) => {
    const stream = await findManaged(req);
    const body: DestinationList = { destinations: (await d.destinations.listByStream(stream.id)).map(info) };
    res.json(body);
  });

  r.delete('/:id/destinations/:destId', auth, async (req, res) => {
    const stream = await findManaged(req);
    const destId = parse(streamIdSchema, req.params.destId, 'destination id');
    const rec = await d.destinations.byId(destId);
    if (!rec || rec.streamId !== stream.id) throw new ApiError('not_found', `no destination ${destId} on this stream`);
    await d.destinations.delete(destId);
    await d.restream.removed(stream.id, destId);
    req.log.info({ streamId: stream.id, destinationId: destId }, 'restream destination removed');
    res.status(204).end();
  });
  return r;
}
