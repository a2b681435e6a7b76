/**
 * What a fresh list means against an informer's cache: objects new to it
 * are ADDED, those with another resourceVersion MODIFIED, and those the list
 * no longer has DELETED (a re-list after 410 Gone reports what was deleted
 * meanwhile). Updates the cache in place; no I/O.
 */
export type ListEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Versioned {
  readonly metadata?: { readonly resourceVersion?: string };
}

export function applyList<T extends Versioned>(
  cache: Map<string, T>,
  items: readonly T[],
  key: (o: T) => string,
  emit: (type: ListEvent, obj: T, old: T | undefined) => void,
): void {
  const seen = new Set<string>();
  for (const item of items) {
    const k = key(item);
    seen.add(k);
    const old = cache.get(k);
    cache.set(k, item);
    if (old === undefined) emit('ADDED', item, undefined);
    else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) emit('MODIFIED', item, old);
  }
  for (const [k, old] of [...cache]) {
    if (seen.has(k)) continue;
    cache.delete(k);
    emit('DELETED', old, old);
  }
}
