/**
 * Shows a long import's or export's progress: on a terminal one line
 * redrawn in place (at most every 200 ms), otherwise a plain line every
 * `plainEveryMs` (a log gets a steady trickle, not a flood).
 */
import type { Output } from '../cli/output.js';

const CLEAR_LINE = '\r\u001b[2K';

export class ProgressLine {
  private drawn = false;
  private lastAt = Number.NEGATIVE_INFINITY; // the first line always shows
  readonly tty: boolean;
  readonly width: number;

  constructor(private readonly out: Output, private readonly plainEveryMs = 5000, private readonly now: () => number = Date.now) {
    this.tty = out.isTTY === true;
    this.width = out.columns !== undefined && out.columns > 0 ? out.columns : 80;
  }

  /** render is called only when a line is due. */
  update(render: () => string, force = false): void {
    const t = this.now();
    if (!force && t - this.lastAt < (this.tty ? 200 : this.plainEveryMs)) return;
    this.lastAt = t;
    if (this.tty) {
      this.out.write(CLEAR_LINE + render());
      this.drawn = true;
    } else this.out.write(render() + '\n');
  }

  /** Ends the redrawn line so what follows starts on its own. */
  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
