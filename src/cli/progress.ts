import cliProgress from "cli-progress";

/**
 * A progress display: a bar with rate and ETA on a terminal, a plain line every few seconds
 * otherwise (CI logs, pipes).
 */
export interface Progress {
  increment(by?: number): void;
  /** Extra counters shown after the bar, e.g. accepted/rejected. */
  set(fields: Record<string, number | string>): void;
  stop(): void;
}

export function createProgress(
  label: string,
  total: number,
  options: { stream?: NodeJS.WriteStream; everyMs?: number } = {},
): Progress {
  const stream = options.stream ?? process.stderr;
  let fields: Record<string, number | string> = {};
  const extra = () =>
    Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join(" · ");
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} · {rate}/s · ETA {eta_formatted} · {extra}`,
        stream,
        hideCursor: true,
        etaBuffer: 200,
      },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    bar.start(total, 0, { rate: "0", extra: "" });
    return {
      increment: (by = 1) => bar.increment(by, { rate: rate(bar.getProgress() * total, started), extra: extra() }),
      set: (next) => {
        fields = { ...fields, ...next };
      },
      stop: () => bar.stop(),
    };
  }
  const everyMs = options.everyMs ?? 5_000;
  const started = Date.now();
  let done = 0;
  let lastPrint = started;
  const print = () => {
    const elapsed = (Date.now() - started) / 1000;
    const perSecond = done / Math.max(elapsed, 1e-9);
    const eta = perSecond > 0 && total > done ? Math.round((total - done) / perSecond) : 0;
    stream.write(
      `${label}: ${done}/${total} · ${perSecond.toFixed(1)}/s · ETA ${eta}s${Object.keys(fields).length ? ` · ${extra()}` : ""}\n`,
    );
  };
  return {
    increment: (by = 1) => {
      done += by;
      if (Date.now() - lastPrint >= everyMs) {
        lastPrint = Date.now();
        print();
      }
    },
    set: (next) => {
      fields = { ...fields, ...next };
    },
    stop: print,
  };
}

function rate(done: number, started: number): string {
  return (done / Math.max((Date.now() - started) / 1000, 1e-9)).toFixed(1);
}
