/**
 * A webhook URL as OnAir takes it (from the API and ONAIR_WEBHOOK_URL): absolute http or https, a host, no
 * user name or password (they would be shown in the hook list and logs: put a token in the path or query),
 * at most 2,048 characters. Where it points is judged separately (addressPolicy.ts), since that needs DNS.
 */
import { z } from 'zod';

export const webhookUrlSchema = z
  .string()
  .trim()
  .max(2048, 'the URL is longer than 2,048 characters')
  .url('not an absolute URL')
  .superRefine((value, ctx) => {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return; // reported by .url()
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: `the URL must be http:// or https://, not ${u.protocol}//` });
    if (u.username || u.password) ctx.addIssue({ code: 'custom', message: 'the URL must not carry a user name or password (put a token in the path or query)' });
    if (!u.hostname) ctx.addIssue({ code: 'custom', message: 'the URL has no host' });
  });
