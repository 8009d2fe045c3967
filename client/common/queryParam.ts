/** A parameter of the page's query string (`?tag=`, `?token=`, `?stream=`), or undefined when absent or empty. */
export function queryParam(name: string): string | undefined {
  return new URLSearchParams(location.search).get(name) || undefined;
}
