/**
 * A progress indicator for long runs: the current stage and the elapsed time, redrawn on one line of
 * stderr. Only when the stream is a TTY (nothing in tests, pipes or CI), and only after the first
 * half second, so quick runs print nothing. The engine reports no fractions, so it is a spinner.
 */
export interface ProgressStream {
  readonly isTTY?: boolean | undefined;
  write(text: string): boolean;
}

export interface Progress {
  readonly stage: (name: string) => void;
  readonly stop: () => void;
}

const FRAMES = ['|', '/', '-', '\\'];

export function startProgress(stream: ProgressStream, options: { delayMs?: number; intervalMs?: number; now?: () => number } = {}): Progress {
  if (stream.isTTY !== true) return { stage: () => undefined, stop: () => undefined };
  const now = options.now ?? Date.now;
  const started = now();
  let current = 'starting';
  let frame = 0;
  let drawn = false;
  const draw = (): void => {
    if (now() - started < (options.delayMs ?? 500)) return;
    const seconds = Math.floor((now() - started) / 1000);
    stream.write(`\r\x1b[2Ksortition analyze ${FRAMES[frame++ % FRAMES.length] ?? '-'} ${current} (${seconds}s)`);
    drawn = true;
  };
  const timer = setInterval(draw, options.intervalMs ?? 200);
  timer.unref();
  return {
    stage: (name) => {
      current = name;
    },
    stop: () => {
      clearInterval(timer);
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}
