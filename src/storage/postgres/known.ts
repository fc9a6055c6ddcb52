/**
 * The stored texts of recently read or written entries, by id, with their revision (a revision
 * names one text for good: every write takes a new one). A write whose base is known needs no read
 * first. Bounded by count and by characters in total, the oldest forgotten first; only a hint
 * either way: a forgotten text costs a read, a stale one a conflict, never a wrong write.
 */
export interface KnownText {
  /** The revision as the database holds it (decimal text). */
  revision: string;
  source: string;
}

export class KnownTexts {
  private readonly texts = new Map<string, KnownText>();
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
    /** Longer texts are not kept at all. */
    private readonly maxEntryChars: number,
  ) {}

  get(id: string): KnownText | undefined {
    return this.texts.get(id);
  }

  set(id: string, revision: string, source: string): void {
    this.delete(id);
    if (source.length > this.maxEntryChars) return;
    this.texts.set(id, { revision, source });
    this.chars += source.length;
    while (this.texts.size > this.maxEntries || this.chars > this.maxChars) this.delete(this.texts.keys().next().value!);
  }

  delete(id: string): void {
    const known = this.texts.get(id);
    if (!known) return;
    this.texts.delete(id);
    this.chars -= known.source.length;
  }

  /** Forgets an id and everything below it. */
  deleteWithin(id: string): void {
    for (const key of [...this.texts.keys()]) if (key === id || key.startsWith(`${id}/`)) this.delete(key);
  }
}
