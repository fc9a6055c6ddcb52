/**
 * The work budget of one request's rendering (SPEC §11.11). One object is shared by everything a
 * request renders; every loop and every operation that grows output asks it before doing the work,
 * so no single choke point has to guess how much a tag will cost.
 */

export interface RenderLimits {
  /** Longest text one shortcode or expression may produce (bytes, UTF-8). */
  maxValueBytes: number;
  /** Most items a range or list operation may produce. */
  maxItems: number;
  /** Wall-clock budget of one request's rendering (ms). */
  maxTimeMs: number;
}

export const DEFAULT_RENDER_LIMITS: RenderLimits = { maxValueBytes: 1_048_576, maxItems: 100_000, maxTimeMs: 10_000 };

/** A limit of §11.11 was hit: the tag renders raw, the Query API answers 400. */
export class LimitError extends Error {
  override readonly name = 'LimitError';
  constructor(readonly detail: string) {
    super(`rendering limit exceeded: ${detail}`);
  }
}

/** The request's rendering time is used up: the whole answer is a 400, not one raw tag. */
export class TimeLimitError extends LimitError {}

/** How long (ms) one rendering may hold the event loop before it lets other requests run. */
const BREATH_INTERVAL_MS = 20;

/** Checks the clock only every so many steps: Date.now() is cheap, but not free. */
const STEPS_PER_CLOCK_CHECK = 256;

export class RenderBudget {
  private readonly deadline: number;
  private steps = 0;
  private lastBreath = Date.now();

  constructor(readonly limits: RenderLimits = DEFAULT_RENDER_LIMITS, now = Date.now()) {
    this.deadline = now + limits.maxTimeMs;
  }

  /** One unit of work (an evaluated node, a loop iteration); throws once the time is used up. */
  step(count = 1): void {
    this.steps += count;
    if (this.steps >= STEPS_PER_CLOCK_CHECK) {
      this.steps = 0;
      this.checkTime();
    }
  }

  /**
   * Lets other requests run when this rendering has held the event loop for a while: handlers
   * await each other as promises, which never give way to I/O on their own.
   */
  async breathe(): Promise<void> {
    const now = Date.now();
    if (now - this.lastBreath < BREATH_INTERVAL_MS) return;
    this.lastBreath = now;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastBreath = Date.now();
    this.checkTime();
  }

  checkTime(): void {
    if (Date.now() > this.deadline) throw new TimeLimitError(`rendering took longer than ${this.limits.maxTimeMs} ms (entries.render.max_time_ms)`);
  }

  /** Before building a list of `count` items. */
  items(count: number, what = 'list'): void {
    if (!(count <= this.limits.maxItems)) {
      throw new LimitError(`${what} of ${count} items is more than ${this.limits.maxItems} (entries.render.max_items)`);
    }
    this.step(Math.ceil(count / 64));
  }

  /** Before producing a text of `length` UTF-16 units (an upper bound of its bytes / 3). */
  textLength(length: number, what = 'text'): void {
    // A UTF-16 unit is at most 3 bytes in UTF-8; check the cheap bound first, the exact size when close.
    if (length * 3 <= this.limits.maxValueBytes) return;
    if (!(length <= this.limits.maxValueBytes)) this.tooLong(what);
  }

  /** After producing a text: its exact size. */
  text(value: string, what = 'text'): string {
    if (value.length * 3 > this.limits.maxValueBytes && Buffer.byteLength(value, 'utf8') > this.limits.maxValueBytes) this.tooLong(what);
    return value;
  }

  private tooLong(what: string): never {
    throw new LimitError(`${what} is longer than ${this.limits.maxValueBytes} bytes (entries.render.max_value_bytes)`);
  }
}
