/** A spy on what D is given during training, for the tests of instance noise and DiffAugment. */
import type * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { resolveConfig } from '../core/config.ts';
import { ImageSampler, toySampler } from '../core/data.ts';
import { Rng } from '../core/rng.ts';
import { GanRun } from '../core/trainer.ts';

/**
 * What D sees in each of a few steps (2D points, or 8x8 images with `image`), against what it was given: its three calls per step are
 * the real batch and G(z) in D's update, and G(z) again in G's update. Returns per step the
 * RMS of (D's input - the batch) for each: [real, fake in D's update, fake in G's update].
 */
export async function dInputChanges(train: object, image = false): Promise<number[][]> {
  const c = image
    ? resolveConfig({ model: { dataShape: [8, 8, 1], gWidths: [8], dWidths: [8] }, train: { batchSize: 64, gridSize: 4, steps: 10, ...train } }, 'circles-3x3')
    : resolveConfig({ model: { gWidths: [8], dWidths: [8] }, train: { batchSize: 256, gridSize: 4, steps: 10, ...train } }, 'toy-ring8');
  const rng = new Rng(11, 'd-inputs');
  const set = { shape: [8, 8, 1] as [number, number, number], count: 64, pixels: Uint8Array.from({ length: 64 * 64 }, () => rng.int(256)), labels: null };
  const data = image ? new ImageSampler(set, [0, 1], 1) : toySampler('ring8', 1);
  const run = new GanRun(c, data);
  let real: Float32Array = new Float32Array();
  let fake: Float32Array = new Float32Array();
  const batch = data.batch.bind(data);
  data.batch = (n: number) => {
    const t = batch(n);
    real = t.dataSync() as Float32Array;
    return t;
  };
  const generate = run.generator.apply.bind(run.generator);
  run.generator.apply = (z, kw) => {
    const t = generate(z, kw) as tf.Tensor;
    fake = t.dataSync() as Float32Array;
    return t;
  };
  const seen: Float32Array[] = [];
  const apply = run.discriminator.apply.bind(run.discriminator);
  run.discriminator.apply = (x, kw) => {
    seen.push((x as tf.Tensor).dataSync() as Float32Array);
    return apply(x, kw);
  };
  const rms = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, k) => s + (v - b[k]!) ** 2, 0) / a.length);
  const out: number[][] = [];
  for (let i = 0; i < 3; i++) {
    seen.length = 0;
    await run.trainOnce();
    assert.equal(seen.length, 3);
    out.push([rms(seen[0]!, real), rms(seen[1]!, fake), rms(seen[2]!, fake)]);
  }
  run.dispose();
  return out;
}

