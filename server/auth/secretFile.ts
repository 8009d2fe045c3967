/**
 * A server secret: from its setting, or generated on first start and kept in the data dir (mode 0600), one
 * file per purpose: `jwt-secret` signs tokens; `restream-secret` seals restream stream keys (a secret of its
 * own: rotating the JWT secret to sign everyone out must not lose every key).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function loadOrCreateSecret(dataDir: string, fileName: 'jwt-secret' | 'restream-secret', fromEnv: string | undefined): string {
  if (fromEnv) return fromEnv;
  const file = path.join(dataDir, fileName);
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
