/** /video/:id — a recording, and its chat replayed in step with it. */
import { mountRecordingChat } from '../chat/mountRecordingChat.js';
import { queryParam } from '../common/queryParam.js';
import { byId } from '../ui/dom.js';
import { startVodPage } from '../vod/VodPage.js';

const id = location.pathname.split('/').pop() ?? '';
const recordingId = decodeURIComponent(id);
void startVodPage(recordingId, queryParam('token'));
void mountRecordingChat(byId('chat'), byId('vod-video', HTMLVideoElement), recordingId, queryParam('token'));
