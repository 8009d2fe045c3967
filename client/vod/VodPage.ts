/**
 * /video/:id: a recording (video on demand) with its stream's metadata, played from the start with seeking.
 * Its badge says "Replay" and its line when it was broadcast: a first-time user read the old "RECORDING"
 * badge as if something were being recorded now.
 */
import type { Recording } from '../../shared/api.js';
import { api } from '../common/api.js';
import { attachHls, canPlayHls } from '../hls/attachHls.js';
import { byId } from '../ui/dom.js';
import { formatDuration } from '../ui/format.js';
import { tagLink } from '../ui/tagLink.js';

export async function startVodPage(recordingId: string, token: string | undefined): Promise<void> {
  const title = byId('vod-title');
  const meta = byId('vod-meta');
  const description = byId('vod-description');
  const tags = byId('vod-tags');
  const video = byId('vod-video', HTMLVideoElement);
  const status = byId('vod-status');
  let rec: Recording;
  try {
    rec = await api<Recording>('GET', `/api/recordings/${encodeURIComponent(recordingId)}`, { query: { token } });
  } catch (err) {
    title.textContent = 'Recording unavailable';
    status.textContent = err instanceof Error ? err.message : 'this recording cannot be shown';
    status.hidden = false;
    return;
  }
  document.title = `${rec.title} · OnAir`;
  title.textContent = rec.title;
  // Said as the past it is: "Recording" alone read as if something were being recorded now.
  meta.textContent = `Broadcast live by ${rec.owner.username} on ${new Date(rec.startedAt).toLocaleString()} · ${formatDuration(rec.durationSeconds * 1000)}${rec.status === 'interrupted' ? ' · interrupted' : ''}`;
  description.textContent = rec.description;
  description.hidden = !rec.description;
  tags.replaceChildren(...rec.tags.map(tagLink));
  const q = token ? `?token=${encodeURIComponent(token)}` : '';
  video.poster = rec.urls.poster + q;
  if (!canPlayHls(video)) {
    status.textContent = 'This browser cannot play HLS video.';
    status.hidden = false;
    return;
  }
  await attachHls(video, rec.urls.hls + q, {
    live: false,
    onFatalError: (message) => {
      status.textContent = message;
      status.hidden = false;
    },
  });
}
