/** /embed/:id — the player alone, full-window, for iframes; talks to its parent with postMessage. `?mode=hls`: Standard. */
import { queryParam } from '../common/queryParam.js';
import { streamIdFromPath } from '../common/streamIdFromPath.js';
import { EmbedBridge } from '../embed/EmbedBridge.js';
import { installDebugHook } from '../player/debugHook.js';
import { parseModePreference } from '../player/delivery.js';
import { Player } from '../player/Player.js';
import { PlayerView } from '../player/PlayerView.js';
import { byId, h } from '../ui/dom.js';
import { showError } from '../ui/toast.js';

const streamId = streamIdFromPath();
if (!streamId) {
  showError(new Error('this address does not name a stream'));
} else {
  const player = new Player({ streamId, token: queryParam('token'), video: h('video'), mode: parseModePreference(queryParam('mode')) });
  new PlayerView(byId('player'), player, { overlayInfo: true });
  new EmbedBridge(player);
  player.on('error', (err) => showError(err));
  installDebugHook(player);
  player.start();
}
