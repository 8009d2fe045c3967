/**
 * The RTMP and SRT listeners of one OnAir, started and stopped together by the composition root (app.ts).
 * Either may be off (its port setting `off`). `close` stops both and resolves when every ingest ffmpeg is gone;
 * the root calls it after the broadcasts ended, so that their outputs finished while the media still flowed.
 */
import type { Broadcasts } from '../live/Broadcasts.js';
import type { Logger } from '../log/logger.js';
import type { IngestConfig } from './ingestConfig.js';
import { RtmpIngestServer } from './rtmp/RtmpIngestServer.js';
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

  private constructor(rtmp: RtmpIngestServer | undefined) {
    this.rtmp = rtmp;
  }

  static async start(deps: IngestServersDeps): Promise<IngestServers> {
    const logger = deps.logger.child({ component: 'ingest' });
    const rtmp =
      deps.config.rtmpPort === null
        ? undefined
        : new RtmpIngestServer({ broadcasts: deps.broadcasts, findStreamByKey: deps.findStreamByKey, logger, stopTimeoutMs: STOP_TIMEOUT_MS });
    const servers = new IngestServers(rtmp);
    try {
      if (rtmp && deps.config.rtmpPort !== null) {
        servers.rtmpPort = await rtmp.listen(deps.config.rtmpPort, deps.host);
        logger.info({ port: servers.rtmpPort }, 'RTMP ingest listening (rtmp://HOST:PORT/live/STREAM_KEY)');
      }
    } catch (err) {
      await servers.close();
      throw err;
    }
    return servers;
  }

  async close(): Promise<void> {
    await this.rtmp?.close();
  }
}
