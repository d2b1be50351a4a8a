/** Training progress: a bar that redraws in place on a terminal, plain lines elsewhere. */
import type { HistoryRow } from '../../core/trainer.ts';

export interface ProgressOptions {
  total: number;
  /** Steps already done (resume). */
  start: number;
  tty: boolean;
  logEvery: number;
  /** Terminal width; the bar line is cut to fit so \r can redraw it. @default 120 */
  columns?: number;
  write(s: string): void;
}

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export function formatRow(r: HistoryRow): string {
  return `lossD ${r.lossD.toFixed(3)} lossG ${r.lossG.toFixed(3)} D(x) ${r.dReal.toFixed(3)} D(G(z)) ${r.dFake.toFixed(3)}`;
}

export class Progress {
  private readonly t0 = Date.now();
  private rate = 0;
  private lastDraw = 0;

  constructor(private readonly o: ProgressOptions) {}

  update(r: HistoryRow): void {
    // Images/s smoothed, so the bar does not flicker.
    this.rate = this.rate === 0 ? r.imgPerSec : 0.9 * this.rate + 0.1 * r.imgPerSec;
    const { total, start } = this.o;
    const done = r.step - start;
    const eta = ((Date.now() - this.t0) / 1000 / Math.max(done, 1)) * (total - r.step);
    const stats = `${formatRow(r)} ${this.rate.toFixed(0)} img/s`;
    if (this.o.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && r.step < total) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round((r.step / total) * width);
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      const line = `[${bar}] ${r.step}/${total} ${stats} ETA ${duration(eta)}`;
      this.o.write(`\r\x1b[2K${line.slice(0, Math.max(20, (this.o.columns ?? 120) - 1))}`);
    } else if (r.step % this.o.logEvery === 0 || r.step === total || r.step === start + 1) {
      this.o.write(`step ${r.step}/${total} ${stats} eta ${duration(eta)}\n`);
    }
  }

  /** Clear the bar line before other output. */
  end(): void {
    if (this.o.tty) this.o.write('\n');
  }
}
