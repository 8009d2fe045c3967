/**
 * The RTMP and SRT listeners of one OnAir, started and stopped together by the composition root (app.ts).
 * Either may be off (its port setting `off`). `close` stops both and resolves when every ingest ffmpeg is gone;
 * the root calls it after the broadcasts ended, so that their outputs finished while the media still flowed.
 */
import type { Broadcasts } from '../live/Broadcasts.js';
import type { Logger } from '../log/logger.js';
import type { IngestConfig } from './ingestConfig.js';
import { RtmpIngestServer } from './rtmp/RtmpIngestServer.js';
import { SrtIngestServer } from './srt/SrtIngestServer.js';
import type { FindStreamByKey } from './streamKeys.js';

export interface IngestServersDeps {
  config: IngestConfig;
  /** Listen address (HOST). */
  host: string;
  broadcasts: Broadcasts;
  findStreamByKey: FindStreamByKey;
  logger: Logger;
}

/** ffmpeg gets this long after SIGINT (its input has ended by then, so it exits at once). */
const STOP_TIMEOUT_MS = 2000;

export class IngestServers {
  /** Bound ports (null: off). */
  rtmpPort: number | null = null;
  srtPort: number | null = null;
  readonly rtmp: RtmpIngestServer | undefined;
  readonly srt: SrtIngestServer | undefined;

  private constructor(rtmp: RtmpIngestServer | undefined, srt: SrtIngestServer | undefined) {
    this.rtmp = rtmp;
    this.srt = srt;
  }

  static async start(deps: IngestServersDeps): Promise<IngestServers> {
    const logger = deps.logger.child({ component: 'ingest' });
    const rtmp =
      deps.config.rtmpPort === null
        ? undefined
        : new RtmpIngestServer({ broadcasts: deps.broadcasts, findStreamByKey: deps.findStreamByKey, logger, stopTimeoutMs: STOP_TIMEOUT_MS });
    const srt =
      deps.config.srtPort === null
        ? undefined
        : new SrtIngestServer({ broadcasts: deps.broadcasts, findStreamByKey: deps.findStreamByKey, logger, stopTimeoutMs: STOP_TIMEOUT_MS });
    const servers = new IngestServers(rtmp, srt);
    try {
      if (rtmp && deps.config.rtmpPort !== null) {
        servers.rtmpPort = await rtmp.listen(deps.config.rtmpPort, deps.host);
        logger.info({ port: servers.rtmpPort }, 'RTMP ingest listening (rtmp://HOST:PORT/live/STREAM_KEY)');
      }
      if (srt && deps.config.srtPort !== null) {
        servers.srtPort = await srt.listen(deps.config.srtPort, deps.host);
        logger.info({ port: servers.srtPort }, 'SRT ingest listening (srt://HOST:PORT?streamid=STREAM_KEY)');
      }
    } catch (err) {
      await servers.close();
      throw err;
    }
    return servers;
  }

  async close(): Promise<void> {
    await Promise.all([this.rtmp?.close(), this.srt?.close()]);
  }
}
