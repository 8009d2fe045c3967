/**
 * The secret restream stream keys are sealed under (KeySealer): ONAIR_RESTREAM_SECRET, or one generated on
 * first start and kept in the data dir as `restream-secret` (mode 0600), beside `jwt-secret`. A secret of
 * its own, not the JWT secret: rotating the JWT secret (to sign everyone out) must not lose every key.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function loadOrCreateRestreamSecret(dataDir: string, fromEnv: string | undefined): string {
  if (fromEnv) return fromEnv;
  const file = path.join(dataDir, 'restream-secret');
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = crypto.randomBytes(48).toString('base64url');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
