/**
 * What the content store tells its listeners (query indexes, caches): every change to the
 * entries it serves, made through the API or seen on disk. `subtree`: the id and everything below
 * it may have changed (moves, copies, deletes, a folder renamed on disk). `clear`: forget all.
 */
export type StoreChange =
  | { kind: 'entry'; id: string; origin: 'api' | 'outside' }
  | { kind: 'subtree'; id: string; origin: 'api' | 'outside' }
  | { kind: 'clear' };

export type StoreChangeListener = (change: StoreChange) => void;

/** A listener list where one failing listener cannot stop the others or the change itself. */
export class ChangeListeners {
  private readonly listeners = new Set<StoreChangeListener>();

  add(listener: StoreChangeListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(change: StoreChange, onError?: (err: Error) => void): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        onError?.(err as Error);
      }
    }
  }
}
