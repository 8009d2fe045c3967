/**
 * "Watch the recording" once a broadcast has ended: a viewer left on an ended live page had no way on.
 *
 * The recording of the broadcast just ended is listed (GET /api/recordings?streamId=) only once it is
 * finished, a few seconds after the end; until then the list's newest entry is an earlier broadcast's. So the
 * newest recording is read once while the broadcast is live (its own recording is not listed yet: that is
 * the baseline), and after the end the list is read every POLL_MS until a newer one appears. A page opened
 * on an already ended stream has no baseline: the newest recording is the one. Polling stops after
 * POLL_LIMIT reads (no recording: HLS off, or a private stream, which the public list leaves out) and as soon
 * as the stream goes live again.
 */
import type { RecordingList } from '../../shared/api.js';
import { api } from '../common/api.js';
import type { Player } from './Player.js';
import type { PlayerView } from './PlayerView.js';

const POLL_MS = 2000;
const POLL_LIMIT = 60;

export function offerRecordingAfterEnd(player: Player, view: PlayerView, opts: { target?: string } = {}): void {
  /** The newest finished recording while live (null: none yet); undefined when the page never saw it live. */
  let baseline: Promise<string | null> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let polling = false;
  let polls = 0;
  /** Counts live periods: a read answered after the stream went live again (and maybe ended again) is dropped. */
  let generation = 0;

  const newest = async (): Promise<{ id: string; url: string } | null> => {
    const list = await api<RecordingList>('GET', '/api/recordings', { query: { streamId: player.streamId, limit: 1 } });
    const rec = list.recordings[0];
    return rec ? { id: rec.id, url: new URL(rec.urls.video).pathname } : null;
  };

  const poll = async (gen: number): Promise<void> => {
    timer = undefined;
    if (player.state !== 'ended' || polls++ >= POLL_LIMIT) return void (polling = false);
    const before = baseline ? await baseline : undefined;
    const rec = await newest().catch(() => undefined);
    if (gen !== generation) return;
    if (player.state !== 'ended') return void (polling = false);
    if (rec && rec.id !== before) {
      polling = false;
      return view.showEndedLink(rec.url, 'Watch the recording', opts.target);
    }
    timer = setTimeout(() => void poll(gen), POLL_MS);
  };

  player.on('state', (state) => {
    if (state === 'live') {
      // Read at every (re)start of playback: the broadcast's own recording is not listed while it is live.
      baseline = newest().then(
        (rec) => rec?.id ?? null,
        () => null,
      );
      clearTimeout(timer);
      timer = undefined;
      polling = false;
      generation++;
    }
    if (state === 'ended' && !polling) {
      polling = true;
      polls = 0;
      void poll(generation);
    }
  });
}
