/** Noise z and walks through latent space. */
import type { NoiseDist } from './config.ts';
import type { Rng } from './rng.ts';

/** n * dim values of z ~ N(0,1) or U(-1,1), row-major [n, dim]. */
export function sampleNoise(n: number, dim: number, dist: NoiseDist, rng: Rng): Float32Array {
  const z = new Float32Array(n * dim);
  if (dist === 'normal') rng.fillNormal(z);
  else for (let i = 0; i < z.length; i++) z[i] = rng.next() * 2 - 1;
  return z;
}

/** Linear interpolation a + t (b - a). */
export function lerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + t * (b[i]! - a[i]!);
  return out;
}

/**
 * Spherical interpolation: follows the great circle between a and b, which keeps
 * |z| typical of a Gaussian (lerp's midpoints are too short). Falls back to lerp
 * for (nearly) parallel vectors.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const cos = Math.min(1, Math.max(-1, dot / (Math.sqrt(na * nb) || 1)));
  const omega = Math.acos(cos);
  const so = Math.sin(omega);
  if (so < 1e-6) return lerp(a, b, t);
  const wa = Math.sin((1 - t) * omega) / so;
  const wb = Math.sin(t * omega) / so;
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i]! + wb * b[i]!;
  return out;
}
