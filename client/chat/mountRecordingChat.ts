/** /video/:id: the recording's chat replay next to its video (nothing is shown when it cannot load). */
import type { Recording } from '../../shared/api.js';
import { api } from '../common/api.js';
import { ChatReplay, loadRecordingChat } from './ChatReplay.js';

export async function mountRecordingChat(root: HTMLElement, video: HTMLVideoElement, recordingId: string, token: string | undefined): Promise<ChatReplay | undefined> {
  try {
    const rec = await api<Recording>('GET', `/api/recordings/${encodeURIComponent(recordingId)}`, { query: { token } });
    const messages = await loadRecordingChat(rec, token);
    return new ChatReplay(root, video, messages, rec);
  } catch {
    // The page itself says what is wrong with the recording; the replay just stays away.
    return undefined;
  }
}
