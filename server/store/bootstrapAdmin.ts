/** On first start (no users yet), creates the admin account from ONAIR_ADMIN_USER / ONAIR_ADMIN_PASSWORD. */
import type { Logger } from '../log/logger.js';
import { hashPassword, randomPassword } from '../auth/passwords.js';
import type { UserStore } from './UserStore.js';

export async function bootstrapAdmin(users: UserStore, username: string, password: string | undefined, logger: Logger): Promise<void> {
  if (users.count() > 0) return;
  const generated = !password;
  const pw = password ?? randomPassword();
  users.create({ username, passwordHash: await hashPassword(pw), role: 'admin' });
  if (generated) {
    // Printed once, on the console only (never into the structured log).
    process.stdout.write(
      `\n  OnAir created the admin account "${username}" with the password:\n\n      ${pw}\n\n` +
        '  It is shown only this once: keep it, or set ONAIR_ADMIN_PASSWORD before the first start.\n\n',
    );
  }
  logger.info({ username, passwordFrom: generated ? 'generated' : 'ONAIR_ADMIN_PASSWORD' }, 'admin account created');
}
