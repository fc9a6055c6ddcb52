/**
 * One request's rendering: the work budget, the request-scoped variables, the chain of entries being
 * rendered (cycles read as missing), and what each render read (for the render cache).
 */
import type { RenderBudget } from './limits.js';
import type { PhpMap } from './expressions/values.js';

/** What one entry's render read: other entries' revisions, and whether time or chance was involved. */
export class Dependencies {
  /** id → ETag read (null: read as missing). */
  readonly entries = new Map<string, string | null>();
  /** Folders listed by collection reads → tree version at that moment. */
  readonly folders = new Map<string, number>();
  /** Depends on time, randomness, files or the request: never cached. */
  volatile = false;
  /** Levels of nested entry renders below this one (a cached view fits only where they still fit). */
  height = 0;

  absorb(other: Dependencies): void {
    for (const [id, etag] of other.entries) this.entries.set(id, etag);
    for (const [folder, version] of other.folders) this.folders.set(folder, version);
    if (other.volatile) this.volatile = true;
  }
}

export interface RequestFacts {
  /** `http[s]://host[:port]` of the request, or '' outside HTTP. */
  origin: string;
  /** Path and query of the request, or ''. */
  uri: string;
}

export class RenderSession {
  readonly vars: PhpMap = new Map();
  readonly actions: PhpMap = new Map();
  /** Ids being rendered, outermost first. */
  readonly chain: string[] = [];
  /** Dependency records of the renders in progress, outermost first: a read counts for all. */
  private readonly recording: Dependencies[] = [];

  constructor(
    readonly budget: RenderBudget,
    readonly request: RequestFacts = { origin: '', uri: '' },
  ) {}

  get depth(): number {
    return this.chain.length;
  }

  readEntry(id: string, etag: string | null): void {
    for (const deps of this.recording) if (!deps.entries.has(id)) deps.entries.set(id, etag);
  }

  readFolder(folder: string, version: number): void {
    for (const deps of this.recording) if (!deps.folders.has(folder)) deps.folders.set(folder, version);
  }

  markVolatile(): void {
    for (const deps of this.recording) deps.volatile = true;
  }

  /** Runs one entry's render with its own dependency record (which outer renders also receive). */
  async within<T>(id: string, work: (deps: Dependencies) => Promise<T>): Promise<{ result: T; deps: Dependencies }> {
    const deps = new Dependencies();
    this.chain.push(id);
    this.recording.push(deps);
    try {
      return { result: await work(deps), deps };
    } finally {
      this.chain.pop();
      this.recording.pop();
      this.grew(deps);
    }
  }

  /** A render served from the cache still counts its reads for the renders around it. */
  replay(deps: Dependencies): void {
    for (const outer of this.recording) outer.absorb(deps);
    this.grew(deps);
  }

  /** The render on top embeds another entry (even one that needed no rendering of its own). */
  embedded(): void {
    const outer = this.recording[this.recording.length - 1];
    if (outer) outer.height = Math.max(outer.height, 1);
  }

  /** The render now on top contains one of `inner`'s height. */
  private grew(inner: Dependencies): void {
    const outer = this.recording[this.recording.length - 1];
    if (outer) outer.height = Math.max(outer.height, inner.height + 1);
  }
}
