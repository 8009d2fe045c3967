/** /watch/:id — the stream's page: details, the player, its live chat, and the embed code. `?mode=hls` starts in Standard (HLS). */
import { ChatPanel } from '../chat/ChatPanel.js';
import { queryParam } from '../common/queryParam.js';
import { streamIdFromPath } from '../common/streamIdFromPath.js';
import { installDebugHook } from '../player/debugHook.js';
import { parseModePreference } from '../player/delivery.js';
import { Player } from '../player/Player.js';
import { PlayerView } from '../player/PlayerView.js';
import { offerRecordingAfterEnd } from '../player/recordingAfterEnd.js';
import { SignalingClient } from '../signaling/SignalingClient.js';
import { byId, h } from '../ui/dom.js';
import { showError } from '../ui/toast.js';
import { mountEmbedCodeBox } from '../watch/EmbedCodeBox.js';
import { StreamDetails } from '../watch/StreamDetails.js';

const streamId = streamIdFromPath();
if (!streamId) {
  showError(new Error('this address does not name a stream'));
} else {
  const token = queryParam('token');
  // One socket for the player and the chat, connecting now: the first frame waits for it.
  const signaling = new SignalingClient();
  signaling.connect();
  const player = new Player({ streamId, token, video: h('video'), mode: parseModePreference(queryParam('mode')), signaling });
  offerRecordingAfterEnd(player, new PlayerView(byId('player'), player));
  new StreamDetails(player);
  mountEmbedCodeBox(streamId, token);
  player.on('error', (err) => showError(err));
  installDebugHook(player);
  // Started before the chat subscribes: on connect, `viewer:join` goes out before `chat:join`. All in this
  // task, so neither misses the socket's 'connect'.
  player.start();
  new ChatPanel(byId('chat'), { signaling, streamId, token });
}
