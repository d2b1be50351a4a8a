/**
 * Axis arithmetic for the plotter: data ranges, 1-2-5 tick steps and labels
 * that read the same along one axis.
 */
import { ForgerError } from '../../core/errors.ts';
import { textWidth } from './font.ts';

/** A 1, 2 or 5 times a power of ten, about span / target. */
export function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const f = raw / magnitude;
  return clean((f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude);
}

/** The next smaller 1-2-5 step: 5 -> 2 -> 1 -> 0.5. */
function smallerStep(step: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(step) + 1e-9);
  const f = Math.round(step / magnitude);
  return clean(f === 5 ? 2 * magnitude : f === 2 ? magnitude : 0.5 * magnitude);
}

/** Drop float noise: 9.999999999999999e-6 -> 1e-5, 0.30000000000000004 -> 0.3. */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

function ticksWithin([lo, hi]: [number, number], step: number): number[] {
  const ticks: number[] = [];
  // The cap guards ranges narrower than float resolution, where k would stop counting.
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && ticks.length < 200; k++) {
    ticks.push(clean(k * step));
  }
  return ticks;
}

/**
 * Labels for one axis in one style: 0.25, 1500, 20k, 3e-5, 1.5e7. The style
 * follows the largest tick and the step, so an axis never mixes 8000 and 10k.
 */
export function formatTicks(ticks: number[], step: number): string[] {
  // Digits after the point that show the step exactly: 0.5 -> 1, 0.25 -> 2, 2000 -> 0.
  const decimals = (s: number) => {
    let d = 0;
    while (d < 12 && Math.abs(Math.round(s * 10 ** d) - s * 10 ** d) > 1e-6) d++;
    return d;
  };
  const largest = Math.max(0, ...ticks.map(Math.abs));
  if (largest >= 1e7 || step < 1e-4) {
    // Shortest exact mantissa: 5e7, 1e8, 1.5e8.
    return ticks.map((v) => v.toExponential(6).replace(/\.?0+e/, 'e').replace('e+', 'e').replace(/^0e0$/, '0'));
  }
  if (largest >= 1e4 && step >= 100) return ticks.map((v) => (v === 0 ? '0' : `${(v / 1000).toFixed(decimals(step / 1000))}k`));
  return ticks.map((v) => (v === 0 ? 0 : v).toFixed(decimals(step))); // no "-0.0"
}

export interface Ticks {
  step: number;
  ticks: number[];
  labels: string[];
}

export function ticksAt(range: [number, number], step: number): Ticks {
  const ticks = ticksWithin(range, step);
  return { step, ticks, labels: formatTicks(ticks, step) };
}

/** Ticks for `range` about `spacing` pixels apart along `pixels`. */
export function ticksFor(range: [number, number], pixels: number, spacing: number): Ticks {
  let step = niceStep(range[1] - range[0], pixels / spacing);
  // A scale needs two marks.
  for (let i = 0; i < 6 && ticksWithin(range, step).length < 2; i++) step = smallerStep(step);
  return ticksAt(range, step);
}

/** Whether x labels at this step leave a gap between neighbours. */
export function xLabelsFit(t: Ticks, range: [number, number], pixels: number): boolean {
  const spacing = (t.step / (range[1] - range[0])) * pixels;
  return Math.max(0, ...t.labels.map((l) => textWidth(l))) + 16 <= spacing;
}

/** [min, max] of the finite values, or null when there are none. */
export function extent(values: Iterable<number>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/** Widen by `margin` of the span each side; a single value gets +-10% (or +-1 at zero); no data gives [0, 1]. */
export function padRange(ext: [number, number] | null, margin: number): [number, number] {
  if (!ext) return [0, 1];
  const [lo, hi] = ext;
  if (hi - lo <= Math.abs(hi) * 1e-12) {
    const d = Math.abs(lo) * 0.1 || 1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * margin;
  return [lo - d, hi + d];
}

export function checkRange(range: [number, number], name: string): [number, number] {
  const [lo, hi] = range;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo >= hi) {
    throw new ForgerError('E_CONFIG', `plot ${name} [${lo}, ${hi}] must be finite with min < max`);
  }
  return [lo, hi];
}
