/** Read-modify-write against writers outside this process (other nodes, editors on disk). */
import { StorageError } from '../../storage/engine.js';

/** Attempts before a write that keeps conflicting gives up (then the client gets a 409). */
const MAX_ATTEMPTS = 5;

/**
 * Runs `attempt` (read, merge, write with `expected`) again while the write reports that the
 * entry changed meanwhile; each attempt reads afresh, so the merge is always into the latest.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, attempts = MAX_ATTEMPTS): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof StorageError && err.reason === 'conflict') || i >= attempts) throw err;
    }
  }
}
