/**
 * Browser entry for the smoke test: trains the smoke run on the cpu backend,
 * then loads a generator written by Node with plain tf.loadLayersModel.
 * No Node APIs: the bundle is built with platform 'browser'.
 */
import * as tf from '@tensorflow/tfjs';
import { toySampler } from '../core/data.ts';
import { generate } from '../core/sample.ts';
import { GanRun } from '../core/trainer.ts';
import { smokeConfig, type SmokeResult } from './smoke-config.ts';

export async function forgerSmoke(modelUrl: string, z: number[]): Promise<SmokeResult> {
  await tf.setBackend('cpu');
  const tensorsBefore = tf.memory().numTensors;
  const config = smokeConfig();
  const run = new GanRun(config, toySampler('ring8', config.seed));
  let history: SmokeResult['history'];
  let fixed: number[];
  try {
    await run.train({});
    history = run.history.map(({ step, lossD, lossG, dReal, dFake }) => ({ step, lossD, lossG, dReal, dFake }));
    fixed = Array.from(run.sampleFixed());
  } finally {
    run.dispose();
  }
  const tensorsAfter = tf.memory().numTensors;

  const model = await tf.loadLayersModel(modelUrl);
  try {
    const loaded = Array.from(generate(model, Float32Array.from(z), config.model.latentDim));
    return { backend: tf.getBackend(), history, fixed, tensorsBefore, tensorsAfter, loaded };
  } finally {
    model.dispose();
  }
}

declare global {
  interface Window {
    forgerSmoke: typeof forgerSmoke;
  }
}
window.forgerSmoke = forgerSmoke;
