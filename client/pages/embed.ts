/**
 * /embed/:id — the player alone, full-window, for iframes; talks to its parent with postMessage. `?mode=hls`:
 * Standard. `?chat=1`: the live chat beside the player (below it in a narrow frame).
 */
import { ChatPanel } from '../chat/ChatPanel.js';
import { queryParam } from '../common/queryParam.js';
import { streamIdFromPath } from '../common/streamIdFromPath.js';
import { EmbedBridge } from '../embed/EmbedBridge.js';
import { installDebugHook } from '../player/debugHook.js';
import { parseModePreference } from '../player/delivery.js';
import { Player } from '../player/Player.js';
import { PlayerView } from '../player/PlayerView.js';
import { offerRecordingAfterEnd } from '../player/recordingAfterEnd.js';
import { SignalingClient } from '../signaling/SignalingClient.js';
import { byId, h } from '../ui/dom.js';
import { showError } from '../ui/toast.js';

const streamId = streamIdFromPath();
if (!streamId) {
  showError(new Error('this address does not name a stream'));
} else {
  const token = queryParam('token');
  // Connecting now: the first frame waits for the socket.
  const signaling = new SignalingClient();
  signaling.connect();
  const player = new Player({ streamId, token, video: h('video'), mode: parseModePreference(queryParam('mode')), signaling });
  const view = new PlayerView(byId('player'), player, { overlayInfo: true });
  // Out of the frame: the recording's page is a whole page.
  offerRecordingAfterEnd(player, view, { target: '_blank' });
  new EmbedBridge(player);
  player.on('error', (err) => showError(err));
  installDebugHook(player);
  // Started before the chat subscribes: on connect, `viewer:join` goes out before `chat:join`.
  player.start();
  if (queryParam('chat') === '1') {
    document.documentElement.classList.add('embed--chat');
    new ChatPanel(byId('chat'), { signaling, streamId, token });
  }
}
