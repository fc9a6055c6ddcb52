/**
 * Progress of a long command on stderr: a bar redrawn in place on a terminal, plain lines
 * (at every tenth of the work and at least every 10 s) when stderr is a file or a pipe, or nothing.
 */
export type ProgressMode = 'bar' | 'lines' | 'none';

export function progressModeOf(requested: string | undefined, quiet: boolean): ProgressMode {
  if (requested === 'bar' || requested === 'lines' || requested === 'none') return requested;
  if (requested !== undefined && requested !== 'auto') throw new Error(`--progress must be auto, bar, lines or none (got "${requested}")`);
  if (quiet) return 'none';
  return process.stderr.isTTY === true ? 'bar' : 'lines';
}

export interface ProgressState {
  total: number | undefined;
  done: number;
  /** Extra counters shown after the bar ("copied 10 skipped 2 failed 0"). */
  detail?: string;
}

const BAR_WIDTH = 28;
/** Redraws of the bar per second at most (a terminal does not need more). */
const BAR_INTERVAL_MS = 100;
const LINE_INTERVAL_MS = 10_000;

export class Progress {
  private readonly started = Date.now();
  private lastDraw = 0;
  private lastTenth = -1;
  private drawn = false;
  private lastDone = -1;

  constructor(
    private readonly mode: ProgressMode,
    private readonly label: string,
    private readonly write: (text: string) => void = (text) => void process.stderr.write(text),
  ) {}

  /** Called often; draws only when it is time to. */
  update(state: ProgressState, force = false): void {
    if (this.mode === 'none') return;
    const now = Date.now();
    if (this.mode === 'bar') {
      if (!force && now - this.lastDraw < BAR_INTERVAL_MS) return;
      this.lastDraw = now;
      this.write(`\r${this.barLine(state, now)}\u001b[K`);
      this.drawn = true;
      return;
    }
    const tenth = state.total ? Math.floor((state.done * 10) / Math.max(1, state.total)) : -1;
    // The final state once, even when the last tenth already showed it.
    if (force && state.done === this.lastDone) return;
    if (force || tenth > this.lastTenth || now - this.lastDraw >= LINE_INTERVAL_MS) {
      this.lastDone = state.done;
      this.lastTenth = Math.max(this.lastTenth, tenth);
      this.lastDraw = now;
      this.write(`${this.plainLine(state, now)}\n`);
    }
  }

  /** Draws the final state and leaves the line (the bar ends with a newline). */
  finish(state: ProgressState): void {
    if (this.mode === 'none') return;
    this.update(state, true);
    if (this.mode === 'bar' && this.drawn) this.write('\n');
  }

  private rate(state: ProgressState, now: number): string {
    const seconds = Math.max(0.001, (now - this.started) / 1000);
    return `${Math.round(state.done / seconds)}/s`;
  }

  private barLine(state: ProgressState, now: number): string {
    const { total, done } = state;
    const share = total ? Math.min(1, done / Math.max(1, total)) : 0;
    const filled = Math.round(share * BAR_WIDTH);
    const bar = total === undefined ? '' : `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.floor(share * 100)}% `;
    const of = total === undefined ? `${done}` : `${done}/${total}`;
    const seconds = (now - this.started) / 1000;
    const eta = total && done > 0 && done < total ? ` eta ${Math.ceil(((total - done) * seconds) / done)}s` : '';
    return `${this.label} ${bar}${of} ${this.rate(state, now)}${eta}${state.detail ? ` · ${state.detail}` : ''}`;
  }

  private plainLine(state: ProgressState, now: number): string {
    const { total, done } = state;
    const of = total === undefined ? `${done}` : `${done}/${total} (${Math.floor((done * 100) / Math.max(1, total))}%)`;
    return `${this.label}: ${of} entries, ${this.rate(state, now)}${state.detail ? `, ${state.detail}` : ''}`;
  }
}
