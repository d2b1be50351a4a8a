/**
 * Toy data for GANs small enough to watch: 2D point clouds (seed 002: "real data
 * P_data is a bunch of 2D points in a spiral shape"), the 8-Gaussian ring and 5x5
 * grid used to study mode collapse, and the 3x3 "circle" images of seed 004.
 * Points are interleaved (x0, y0, x1, y1, ...).
 */
import { ForgerError } from './errors.ts';
import type { ImageSet } from './image.ts';
import type { Rng } from './rng.ts';

export type ToyName = 'spiral' | 'ring8' | 'grid25';
export const TOY_NAMES: readonly ToyName[] = ['spiral', 'ring8', 'grid25'];

export function isToyName(name: string): name is ToyName {
  return (TOY_NAMES as readonly string[]).includes(name);
}

/** Spiral: r = t, angle = 2 pi SPIRAL_TURNS t, t ~ U[0.25, 1], plus N(0, SPIRAL_NOISE^2) per coordinate. */
const SPIRAL_TURNS = 1.5;
const SPIRAL_NOISE = 0.02;
const RING8_STD = 0.01;
const GRID25_STD = 0.05;

function ring8Means(): Float32Array {
  const m = new Float32Array(16);
  for (let k = 0; k < 8; k++) {
    m[2 * k] = Math.cos((2 * Math.PI * k) / 8);
    m[2 * k + 1] = Math.sin((2 * Math.PI * k) / 8);
  }
  return m;
}

function grid25Means(): Float32Array {
  const m = new Float32Array(50);
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      m[2 * (i * 5 + j)] = -4 + 2 * i;
      m[2 * (i * 5 + j) + 1] = -4 + 2 * j;
    }
  }
  return m;
}

function checkName(name: string): asserts name is ToyName {
  if (!TOY_NAMES.includes(name as ToyName)) {
    throw new ForgerError('E_CONFIG', `unknown toy dataset "${name}"; use one of ${TOY_NAMES.join(', ')}`);
  }
}

function checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new ForgerError('E_CONFIG', `${what} sample count ${n} is not allowed; use an integer >= 0`);
}

/** The Gaussian modes of a mixture (means interleaved x, y), or null for the spiral. */
export function toyModes(name: ToyName): { means: Float32Array; std: number } | null {
  checkName(name);
  if (name === 'ring8') return { means: ring8Means(), std: RING8_STD };
  if (name === 'grid25') return { means: grid25Means(), std: GRID25_STD };
  return null;
}

/** n points from the named distribution, [n, 2] row-major. */
export function sampleToy(name: ToyName, n: number, rng: Rng): Float32Array {
  checkName(name);
  checkCount(name, n);
  const out = new Float32Array(2 * n);
  const modes = toyModes(name);
  if (modes === null) {
    for (let i = 0; i < n; i++) {
      const t = 0.25 + 0.75 * rng.next();
      const angle = 2 * Math.PI * SPIRAL_TURNS * t;
      out[2 * i] = t * Math.cos(angle) + SPIRAL_NOISE * rng.normal();
      out[2 * i + 1] = t * Math.sin(angle) + SPIRAL_NOISE * rng.normal();
    }
    return out;
  }
  const { means, std } = modes;
  const k = means.length / 2;
  for (let i = 0; i < n; i++) {
    const m = rng.int(k);
    out[2 * i] = means[2 * m]! + std * rng.normal();
    out[2 * i + 1] = means[2 * m + 1]! + std * rng.normal();
  }
  return out;
}

/** [xmin, xmax, ymin, ymax] that frames the distribution with a margin, for plots. */
export function toyRange(name: ToyName): [number, number, number, number] {
  checkName(name);
  if (name === 'grid25') return [-6, 6, -6, 6];
  if (name === 'ring8') return [-1.5, 1.5, -1.5, 1.5];
  return [-1.2, 1.2, -1.2, 1.2];
}

export interface ModeStats {
  /** Points whose nearest mean is mode k (all points, near or far). */
  counts: Int32Array;
  /** Fraction of points within 3 std of their nearest mean ("high quality"). */
  highQuality: number;
  /** Modes with at least one high-quality point. */
  modesCovered: number;
}

/**
 * Mode-collapse statistics of generated points against a mixture's modes, as in
 * the unrolled-GAN and VEEGAN papers; null for the spiral, which has no modes.
 */
export function modeStats(name: ToyName, points: ArrayLike<number>): ModeStats | null {
  const modes = toyModes(name);
  if (modes === null) return null;
  const { means, std } = modes;
  const k = means.length / 2;
  const n = Math.floor(points.length / 2);
  const counts = new Int32Array(k);
  const near = new Int32Array(k);
  let good = 0;
  const limit2 = (3 * std) ** 2;
  for (let i = 0; i < n; i++) {
    const x = points[2 * i]!;
    const y = points[2 * i + 1]!;
    let best = 0;
    let bestD2 = Infinity;
    for (let m = 0; m < k; m++) {
      const d2 = (x - means[2 * m]!) ** 2 + (y - means[2 * m + 1]!) ** 2;
      if (d2 < bestD2) {
        bestD2 = d2;
        best = m;
      }
    }
    counts[best]!++;
    if (bestD2 <= limit2) {
      good++;
      near[best]!++;
    }
  }
  return { counts, highQuality: n === 0 ? 0 : good / n, modesCovered: near.filter((c) => c > 0).length };
}

/** 3x3 pixels (HWC, 1 channel) that are bright in the "circle" of seed 004. */
export const CIRCLE_MASK: readonly boolean[] = [false, true, false, true, false, true, false, true, false];

/**
 * n "circles" of seed 004, n * 9 bytes: the edge midpoints bright (U[0.7, 1.0]),
 * the corners and centre dark (U[0, 0.25]), each pixel varying independently, like
 * [[0.1, 0.82, 0.01], [0.75, 0.04, 0.87], [0.15, 0.74, 0.15]].
 */
export function sampleCircles(n: number, rng: Rng): Uint8Array {
  checkCount('circles', n);
  const out = new Uint8Array(n * 9);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < 9; p++) {
      const v = CIRCLE_MASK[p] ? 0.7 + 0.3 * rng.next() : 0.25 * rng.next();
      out[i * 9 + p] = Math.round(v * 255);
    }
  }
  return out;
}

/** n circles as an ImageSet of shape [3, 3, 1] without labels. */
export function makeCirclesSet(n: number, rng: Rng): ImageSet {
  return { shape: [3, 3, 1], count: n, pixels: sampleCircles(n, rng), labels: null };
}
