/**
 * On first start (no users yet), creates the admin account from ONAIR_ADMIN_USER / ONAIR_ADMIN_PASSWORD.
 * Several cluster nodes starting at once on an empty PostgreSQL may all see no users: one creation wins, the
 * others meet `username_taken` and leave it at that.
 */
import type { Logger } from '../log/logger.js';
import { hashPassword, randomPassword } from '../auth/passwords.js';
import { StoreError } from './sql/errors.js';
import type { UserStore } from './sql/UserStore.js';

export async function bootstrapAdmin(users: UserStore, username: string, password: string | undefined, logger: Logger): Promise<void> {
  if ((await users.count()) > 0) return;
  const generated = !password;
  const pw = password ?? randomPassword();
  try {
    await users.create({ username, passwordHash: await hashPassword(pw), role: 'admin' });
  } catch (err) {
    if (err instanceof StoreError && err.reason === 'username_taken') return;
    throw err;
  }
  if (generated) {
    // Printed once, on the console only (never into the structured log).
    process.stdout.write(
      `\n  OnAir created the admin account "${username}" with the password:\n\n      ${pw}\n\n` +
        '  It is shown only this once: keep it, or set ONAIR_ADMIN_PASSWORD before the first start.\n\n',
    );
  }
  logger.info({ username, passwordFrom: generated ? 'generated' : 'ONAIR_ADMIN_PASSWORD' }, 'admin account created');
}
