/**
 * Builds `path?query` from a params object, dropping empty values, so links that change one filter
 * keep the others (filters live in the URL so a view can be shared).
 */
export function hrefWith(path: string, params: Record<string, string | number | boolean | null | undefined | string[]>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "" || value === false) continue;
    if (Array.isArray(value)) value.forEach((item) => search.append(key, item));
    else search.set(key, String(value));
  }
  const query = search.toString();
  return query ? `${path}?${query}` : path;
}
