/**
 * Seals restream stream keys for storage: AES-256-GCM under a key derived with HKDF-SHA256 from the server's
 * restream secret (server/auth/secretFile.ts), so the database alone (a backup, a stolen file) does not reveal them.
 *
 * - The destination id is the associated data: a sealed key copied onto another row does not open there.
 * - A fresh 96-bit IV per seal; the 128-bit tag is checked on open (a tampered row fails, it never decrypts
 *   to garbage that would be sent to a platform).
 * - Format `v1.<base64url(iv | tag | ciphertext)>`: the version lets a later key scheme coexist.
 * - Changing the secret makes existing keys unreadable: `open` throws, the destination shows failed with
 *   that reason, and its owner enters the key again.
 */
import crypto from 'node:crypto';

const INFO = 'onair restream destination stream keys v1';
const SALT = 'onair-restream';

export class KeySealer {
  readonly #key: Buffer;

  constructor(secret: string) {
    if (secret.length < 32) throw new Error('the restream secret must be at least 32 characters');
    this.#key = Buffer.from(crypto.hkdfSync('sha256', secret, SALT, INFO, 32));
  }

  seal(plain: string, destinationId: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(destinationId));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1.${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url')}`;
  }

  /** Throws when the text was not sealed by this secret for this destination. */
  open(sealed: string, destinationId: string): string {
    if (!sealed.startsWith('v1.')) throw new Error('unknown sealed key format');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    if (raw.length < 29) throw new Error('sealed key too short');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(destinationId));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('the stream key cannot be decrypted (was the restream secret changed?): enter it again');
    }
  }
}

/** What the API shows of a key: "••••" and, for keys of 12 characters or more, their last 4. */
export const keyHint = (key: string): string => (key.length >= 12 ? `••••${key.slice(-4)}` : '••••');
