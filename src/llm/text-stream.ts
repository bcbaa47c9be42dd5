/**
 * Text of generated tokens as it grows, for streaming and stop strings: decode everything so far,
 * pass on what is new, and end at the first stop string. What might still change is held back: a
 * trailing U+FFFD (a character whose UTF-8 bytes are not all out yet) and any tail that begins a
 * stop string.
 */
export class TextStream {
  private emitted = 0;
  private current = "";
  private stoppedAt: number | undefined;

  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly stops: readonly string[] = [],
    private readonly onText?: (delta: string) => void,
  ) {}

  /** Takes every generated id so far; returns true once a stop string has appeared. */
  update(ids: readonly number[]): boolean {
    if (this.stoppedAt !== undefined) return true;
    const text = this.decode(ids);
    const stop = firstStop(text, this.stops);
    if (stop !== undefined) {
      this.stoppedAt = stop;
      this.current = text.slice(0, stop);
      this.emit(stop);
      return true;
    }
    this.current = text;
    this.emit(text.length - heldBack(text, this.stops));
    return false;
  }

  /** The final text (cut before the stop string, if one appeared), with the rest passed on. */
  finish(): string {
    this.emit(this.current.length);
    return this.current;
  }

  get stopped(): boolean {
    return this.stoppedAt !== undefined;
  }

  private emit(upTo: number): void {
    if (upTo <= this.emitted) return;
    this.onText?.(this.current.slice(this.emitted, upTo));
    this.emitted = upTo;
  }
}

function firstStop(text: string, stops: readonly string[]): number | undefined {
  let first: number | undefined;
  for (const stop of stops) {
    if (stop === "") continue;
    const at = text.indexOf(stop);
    if (at >= 0 && (first === undefined || at < first)) first = at;
  }
  return first;
}

/** How many characters at the end of `text` may still change or turn into a stop string. */
function heldBack(text: string, stops: readonly string[]): number {
  let hold = text.endsWith("\uFFFD") ? 1 : 0;
  for (const stop of stops) {
    for (let n = Math.min(stop.length - 1, text.length); n > hold; n--) {
      if (text.endsWith(stop.slice(0, n))) {
        hold = n;
        break;
      }
    }
  }
  return hold;
}
