/**
 * What the browser smoke run trains, shared by the page (smoke.ts) and the
 * Node side of browser.test.ts so both build exactly the same run.
 */
import { resolveConfig, type ResolvedConfig } from '../core/config.ts';
import type { StepMetrics } from '../core/train-step.ts';

/** toy-ring8 with tiny MLPs and 3 steps: seconds on the cpu backend. */
export function smokeConfig(): ResolvedConfig {
  return resolveConfig({ model: { gWidths: [16], dWidths: [16] }, train: { steps: 3, batchSize: 32, gridSize: 8 } }, 'toy-ring8');
}

/** What forgerSmoke returns: plain JSON, so it crosses page.evaluate unchanged. */
export interface SmokeResult {
  backend: string;
  /** Per-step metrics (timings left out: they differ from run to run). */
  history: (StepMetrics & { step: number })[];
  /** G(fixed noise) after training, flat. */
  fixed: number[];
  /** Live tensors before the run was built, and after it was disposed. */
  tensorsBefore: number;
  tensorsAfter: number;
  /** G(z) from the generator loaded with tf.loadLayersModel(modelUrl), flat. */
  loaded: number[];
}
