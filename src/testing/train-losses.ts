/** A few training steps of a run on one backend, for comparing backends against cpu. */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import type { ResolvedConfig } from '../core/config.ts';
import type { RealData } from '../core/data.ts';
import { GanRun } from '../core/trainer.ts';
import { expectNoLeaks } from './leaks.ts';

/**
 * Switch to `backend`, train three steps of a fresh run (one warm-up, two checked by
 * expectNoLeaks), assert every loss is finite, and return [lossD, lossG] of each step.
 */
export async function stepLosses(backend: string, config: ResolvedConfig, data: RealData): Promise<number[]> {
  await tf.setBackend(backend);
  const run = new GanRun(config, data);
  const out: number[] = [];
  try {
    await expectNoLeaks(async () => {
      const r = await run.trainOnce();
      assert.ok(Number.isFinite(r.lossD) && Number.isFinite(r.lossG), `${backend}: lossD ${r.lossD}, lossG ${r.lossG}`);
      out.push(r.lossD, r.lossG);
    }, 2);
  } finally {
    run.dispose();
  }
  return out;
}
