/** The "Embed this stream" box: the <iframe> snippet and a copy button. */
import { byId } from '../ui/dom.js';
import { showToast } from '../ui/toast.js';
import { embedSnippet } from './embedSnippet.js';

export function mountEmbedCodeBox(streamId: string, token: string | undefined): void {
  const code = byId('embed-code', HTMLTextAreaElement);
  code.value = embedSnippet(location.origin, streamId, token);
  byId('embed-copy', HTMLButtonElement).addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(code.value);
      showToast('Embed code copied.');
    } catch {
      // No clipboard permission (e.g. plain http): select it for Ctrl+C.
      code.focus();
      code.select();
      showToast('Press Ctrl+C (⌘C) to copy the selected code.');
    }
  });
}
