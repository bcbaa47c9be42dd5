type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Runs `work` on up to `window` jobs at once and commits results in job order, so outputs are
 * deterministic and a prompt's negatives stay together. Memory is bounded by the window.
 */
export async function runInOrder<J, R>(
  jobs: AsyncIterable<J>,
  window: number,
  work: (job: J) => Promise<R>,
  commit: (job: J, result: R) => void,
): Promise<void> {
  const pending: Array<{ job: J; settled: Promise<Settled<R>> }> = [];
  const commitHead = async () => {
    const head = pending.shift()!;
    const settled = await head.settled;
    if (!settled.ok) throw settled.error;
    commit(head.job, settled.value);
  };
  try {
    for await (const job of jobs) {
      const settled = work(job).then(
        (value): Settled<R> => ({ ok: true, value }),
        (error: unknown): Settled<R> => ({ ok: false, error }),
      );
      pending.push({ job, settled });
      if (pending.length >= window) await commitHead();
    }
    while (pending.length > 0) await commitHead();
  } finally {
    // On failure, let work already started finish quietly so nothing rejects unobserved.
    await Promise.all(pending.map((p) => p.settled));
  }
}
