/**
 * ONAIR_RTMP_PORT and ONAIR_SRT_PORT: a port (0-65535; 0 = any free port, for tests) or `off`. Pure: the
 * central configuration (server/config/config.ts) merges `INGEST_ENV` into its schema and `toIngestConfig`
 * into its result, so that a bad value is reported with every other bad variable.
 */
import { z } from 'zod';

export const INGEST_DEFAULTS = { rtmpPort: 1935, srtPort: 8890 } as const;

export interface IngestConfig {
  /** RTMP listen port, or null when RTMP ingest is off. */
  rtmpPort: number | null;
  /** SRT listen port (UDP), or null when SRT ingest is off. */
  srtPort: number | null;
}

/** `off`, or a port number. */
export const ingestPort = (name: string, fallback: number) =>
  z
    .union([
      z.literal('off'),
      z.coerce
        .number({ invalid_type_error: `${name} must be a port number or "off"` })
        .int(`${name} must be an integer or "off"`)
        .min(0, `${name} must be 0-65535 or "off"`)
        .max(65535, `${name} must be 0-65535 or "off"`),
    ])
    .default(fallback)
    .transform((v) => (v === 'off' ? null : v));

export const INGEST_ENV = {
  ONAIR_RTMP_PORT: ingestPort('ONAIR_RTMP_PORT', INGEST_DEFAULTS.rtmpPort),
  ONAIR_SRT_PORT: ingestPort('ONAIR_SRT_PORT', INGEST_DEFAULTS.srtPort),
};

const ingestEnvSchema = z.object(INGEST_ENV);

export const toIngestConfig = (e: z.infer<typeof ingestEnvSchema>): IngestConfig => ({ rtmpPort: e.ONAIR_RTMP_PORT, srtPort: e.ONAIR_SRT_PORT });

/** Parses just these two variables (empty = unset); throws the zod error. For tests and the merge. */
export function parseIngestConfig(env: Record<string, string | undefined>): IngestConfig {
  const clean = Object.fromEntries(Object.entries(env).filter(([k, v]) => k in INGEST_ENV && v !== undefined && v !== ''));
  return toIngestConfig(ingestEnvSchema.parse(clean));
}
