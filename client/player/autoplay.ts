/**
 * Starts a <video>. Browsers refuse sound without a user gesture: then it plays on muted (the player's Unmute
 * button is there for the viewer). An AbortError means a newer source took over: nothing to do.
 */
export function playOrMute(video: HTMLVideoElement): void {
  video.play().catch((err: unknown) => {
    if (err instanceof DOMException && err.name === 'NotAllowedError' && !video.muted) {
      video.muted = true;
      return video.play().catch(() => undefined);
    }
    return undefined;
  });
}
