export function parentOf(id: string): string {
  const at = id.lastIndexOf('/');
  return at < 0 ? '' : id.slice(0, at);
}

export function labelOf(id: string): string {
  return id === '' ? 'All entries' : id.slice(id.lastIndexOf('/') + 1);
}

/** Unix seconds as a local date and time. */
export function dateText(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '';
  return new Date(value * 1000).toLocaleString();
}

/** Calls `fn` once `ms` after the last call. */
export function debounce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}
