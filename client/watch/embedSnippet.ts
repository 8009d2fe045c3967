/** The <iframe> code that embeds a stream's player in another site. */
export function embedSnippet(origin: string, streamId: string, token?: string): string {
  const src = `${origin}/embed/${encodeURIComponent(streamId)}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  return `<iframe src="${src}" width="640" height="360" allow="autoplay; fullscreen" style="border:0"></iframe>`;
}
