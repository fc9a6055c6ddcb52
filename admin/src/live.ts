/**
 * One change stream per tab (server-sent events through the typed client, so the token travels
 * as a header). Views subscribe; after a reconnect every view refetches, since events may have
 * been missed while the stream was down.
 */
import type { ChangeEvent, FlextypeClient } from '../../src/client/index.js';

export type LiveEvent = ChangeEvent | { type: 'reconnected' } | { type: 'down' };
type Listener = (event: LiveEvent) => void;

export class LiveChanges {
  private readonly listeners = new Set<Listener>();
  private controller: AbortController | undefined;
  private stopped = false;
  connected = false;

  constructor(private readonly client: FlextypeClient) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private emit(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private async run(): Promise<void> {
    let failures = 0;
    let first = true;
    while (!this.stopped) {
      this.controller = new AbortController();
      try {
        for await (const event of this.client.entries.changes(this.controller.signal)) {
          if (event.type === 'ready') {
            this.connected = true;
            failures = 0;
            if (!first) this.emit({ type: 'reconnected' });
            first = false;
          }
          this.emit(event);
        }
      } catch {
        failures++;
      }
      if (this.connected) {
        this.connected = false;
        if (!this.stopped) this.emit({ type: 'down' });
      }
      if (this.stopped) return;
      // Back off on failures (a server restarting), up to 30 s.
      await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** Math.min(failures, 6))));
    }
  }
}
