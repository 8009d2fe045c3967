/**
 * ONAIR_RESTREAM_ALLOW_PRIVATE (`1`: destinations on loopback or private addresses are accepted; for tests
 * and a platform on the same network) and ONAIR_RESTREAM_SECRET (the secret stream keys are sealed under;
 * default: a generated file in the data dir). Pure: the central configuration merges `RESTREAM_ENV` into
 * its schema and `toRestreamConfig` into its result.
 */
import { z } from 'zod';

/** Flat, so that the start-up log's redaction (config.ts SECRET_KEYS) can name the secret. */
export interface RestreamConfig {
  restreamAllowPrivate: boolean;
  restreamSecret: string | undefined;
}

export const RESTREAM_ENV = {
  ONAIR_RESTREAM_ALLOW_PRIVATE: z.enum(['0', '1'], { errorMap: () => ({ message: 'ONAIR_RESTREAM_ALLOW_PRIVATE must be 0 or 1' }) }).default('0'),
  ONAIR_RESTREAM_SECRET: z.string().min(32, 'ONAIR_RESTREAM_SECRET must be at least 32 characters').optional(),
};

const restreamEnvSchema = z.object(RESTREAM_ENV);

export const toRestreamConfig = (e: z.infer<typeof restreamEnvSchema>): RestreamConfig => ({
  restreamAllowPrivate: e.ONAIR_RESTREAM_ALLOW_PRIVATE === '1',
  restreamSecret: e.ONAIR_RESTREAM_SECRET,
});
