// hls.js's light build (no subtitles, alternate audio, EME/DRM, CMCD, content steering, interstitials: none
// of which OnAir's playlists use) ships without its own declarations; it has the full build's API.
declare module 'hls.js/light' {
  export * from 'hls.js';
  export { default } from 'hls.js';
}
