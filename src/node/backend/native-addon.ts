/**
 * Loads Forger's native addon (native/, built by `npm install` when oneDNN is
 * present: see scripts/build-native.mjs). Absent or unloadable, the reason is kept
 * as one line so backend selection can say why it fell back.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Float32Arrays in, results written into the output arrays given (no copies). */
export interface NativeAddon {
  conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, params: Int32Array, act: number, alpha: number): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, params: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, params: Int32Array): void;
  matmul(a: Float32Array, b: Float32Array, bias: Float32Array | null, c: Float32Array, dims: Int32Array, act: number, alpha: number): void;
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  binary(op: number, a: Float32Array, aShape: Int32Array, b: Float32Array, bShape: Int32Array, out: Float32Array, outShape: Int32Array): void;
  compare(op: number, a: Float32Array, aShape: Int32Array, b: Float32Array, bShape: Int32Array, out: Uint8Array, outShape: Int32Array): void;
  select(cond: Uint8Array, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** false: a pattern of axes it does not handle (the caller falls back) */
  reduce(op: number, x: Float32Array, shape: Int32Array, axes: Int32Array, out: Float32Array): boolean;
  transpose(x: Float32Array, shape: Int32Array, perm: Int32Array, out: Float32Array): void;
  adam(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, newP: Float32Array, newM: Float32Array, newV: Float32Array, lrOverC1: number, c2: number, beta1: number, beta2: number, eps: number): void;
  batchNormTrain(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, channels: number, epsilon: number): void;
  batchNormGrad(dy: Float32Array, x: Float32Array, mean: Float32Array, variance: Float32Array, gamma: Float32Array, dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array, channels: number, epsilon: number): void;
  batchNormInfer(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null, scale: Float32Array | null, y: Float32Array, channels: number, epsilon: number): void;
  tile(x: Float32Array, shape: Int32Array, reps: Int32Array, out: Float32Array): void;
  /** op 0: relu, 1: leaky relu (alpha) */
  activationGrad(op: number, dy: Float32Array, x: Float32Array, dx: Float32Array, alpha: number): void;
  setThreads(n?: number): number;
  info(): { onednn: string; threads: number; isa: string };
}

export const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/forger_native.node', import.meta.url));

let loaded: { addon: NativeAddon | null; reason: string | null } | undefined;

/** The addon, or null with a one-line reason (not built, or failed to load). */
export function loadNativeAddon(): { addon: NativeAddon | null; reason: string | null } {
  if (loaded) return loaded;
  if (process.env['FORGER_NATIVE'] === 'off') return (loaded = { addon: null, reason: 'FORGER_NATIVE=off is set' });
  if (!existsSync(ADDON_PATH)) {
    return (loaded = { addon: null, reason: 'the native addon is not built (install libdnnl-dev, then run npm run build:native)' });
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    return (loaded = { addon, reason: null });
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    return (loaded = { addon: null, reason: `the native addon failed to load: ${msg}` });
  }
}
