import cliProgress from 'cli-progress';

/** Reports the progress of a batch of operations. */
export interface Progress {
  start(label: string, total: number): void;
  /** One more operation done. */
  increment(): void;
  stop(): void;
}

/** Reports nothing (tests). */
export const silentProgress: Progress = { start() {}, increment() {}, stop() {} };

/**
 * A `cli-progress` bar on a terminal; on anything else (CI logs, pipes) plain lines at every
 * fifth of the batch, so logs stay readable.
 */
export function consoleProgress(stream: NodeJS.WriteStream = process.stdout): Progress {
  return stream.isTTY ? barProgress(stream) : lineProgress(stream);
}

function barProgress(stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '  {label} [{bar}] {value}/{total} VMs | {percentage}% | {duration_formatted}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (label, total) => bar.start(total, 0, { label: label.padEnd(10) }),
    increment: () => bar.increment(),
    stop: () => bar.stop(),
  };
}

function lineProgress(stream: NodeJS.WriteStream): Progress {
  let label = '';
  let total = 0;
  let done = 0;
  let started = 0;
  const line = () => stream.write(`  ${label}: ${done}/${total} VMs (${Math.round(performance.now() - started)} ms)\n`);
  return {
    start(l, t) {
      label = l;
      total = t;
      done = 0;
      started = performance.now();
    },
    increment() {
      done++;
      const step = Math.max(1, Math.ceil(total / 5));
      if (done % step === 0 || done === total) line();
    },
    stop() {},
  };
}
