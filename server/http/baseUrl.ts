/** The absolute base URL for links OnAir hands out: ONAIR_PUBLIC_URL, else derived from the request. */
import type { Request } from 'express';

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export function baseUrl(req: Request, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  const host = req.get('host');
  return `${req.protocol}://${host && HOST.test(host) ? host : 'localhost'}`;
}
