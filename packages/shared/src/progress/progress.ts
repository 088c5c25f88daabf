import cliProgress from 'cli-progress';
import type { Progress, ProgressOptions } from './types.js';

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  if (t >= 3600) return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
  if (t >= 60) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${t}s`;
}

/**
 * A progress display for long work: a bar with count, rate and ETA on a terminal, and
 * plain periodic lines (`[extract] 120/500 24% 3.2 clips/s ETA 1m58s`) in logs and CI.
 */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const unit = options.unit ?? 'items';
  const plain = options.plain ?? !stream.isTTY;
  let total = options.total;
  let done = 0;
  let status = '';
  const started = performance.now();
  const rate = () => done / Math.max((performance.now() - started) / 1000, 1e-9);
  const eta = () => (done === 0 ? Number.NaN : (total - done) / rate());

  if (!plain) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${options.label} [{bar}] {value}/{total} {percentage}% | {rate} ${unit}/s | ETA {etaText} {status}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.0', etaText: '?', status: '' });
    const payload = () => ({ rate: rate().toFixed(1), etaText: formatDuration(eta()), status });
    return {
      tick(n = 1, s) {
        done += n;
        if (s !== undefined) status = s;
        bar.update(done, payload());
      },
      setTotal(t) {
        total = t;
        bar.setTotal(t);
      },
      stop() {
        bar.update(done, payload());
        bar.stop();
      },
    };
  }

  const intervalMs = (options.intervalS ?? 5) * 1000;
  let lastLine = 0;
  const line = () => {
    const pct = total > 0 ? ` ${Math.floor((100 * done) / total)}%` : '';
    stream.write(
      `[${options.label}] ${done}/${total}${pct} ${rate().toFixed(1)} ${unit}/s ETA ${formatDuration(eta())}${status ? ` ${status}` : ''}\n`,
    );
    lastLine = performance.now();
  };
  return {
    tick(n = 1, s) {
      done += n;
      if (s !== undefined) status = s;
      if (performance.now() - lastLine >= intervalMs) line();
    },
    setTotal(t) {
      total = t;
    },
    stop() {
      line();
    },
  };
}
