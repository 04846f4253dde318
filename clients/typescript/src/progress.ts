// A live progress line on a terminal (rewritten in place), or a plain line every few seconds when not one.

export interface ProgressSink {
  isTTY?: boolean;
  write(text: string): unknown;
}

const PLAIN_EVERY_MS = 2_000;

export class Progress {
  private readonly sink: ProgressSink;
  private readonly started = Date.now();
  private lastPlain = 0;
  private lastLine = "";
  private shown = false;

  constructor(sink: ProgressSink) {
    this.sink = sink;
  }

  /** Seconds since the start. */
  get elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  show(line: string, force = false): void {
    if (this.sink.isTTY) {
      this.sink.write(`\r${line}\x1b[K`);
      this.shown = true;
    } else if (line !== this.lastLine && (force || Date.now() - this.lastPlain >= PLAIN_EVERY_MS)) {
      this.sink.write(`${line}\n`);
      this.lastPlain = Date.now();
      this.lastLine = line;
    }
  }

  /** The last line stays; the next output starts below it. */
  end(line: string): void {
    this.show(line, true);
    if (this.shown) this.sink.write("\n");
  }
}

/** `12.3/s`, with the unit the caller counts. */
export const rate = (count: number, seconds: number): string => `${(seconds > 0 ? count / seconds : 0).toFixed(1)}/s`;

/** Time left at the current rate: `ETA 42s`, `ETA 3m05s`, or `ETA ?` before anything is done. */
export function eta(done: number, left: number, seconds: number): string {
  if (done <= 0 || seconds <= 0) return "ETA ?";
  const s = Math.ceil((left * seconds) / done);
  return s < 60 ? `ETA ${s}s` : `ETA ${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
