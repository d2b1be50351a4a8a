/**
 * Instance noise (Sønderby et al. 2016; Arjovsky & Bottou 2017): every input of D, real or
 * fake, in D's update and in G's, gets x + sigma_t n with n ~ N(0, I) drawn afresh, so the
 * real and fake distributions overlap early on and D cannot separate them perfectly.
 * sigma_t falls linearly from sigma_0 to 0 over T steps, and stays 0 after.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from './config.ts';
import type { Rng } from './rng.ts';

/** sigma_t = sigma_0 (1 - t / T) for t < T, else 0; t counts the G steps done before this one, T is instanceNoiseSteps (null: steps). */
export function instanceNoiseSigma(train: Pick<TrainConfig, 'instanceNoise' | 'instanceNoiseSteps' | 'steps'>, step: number): number {
  const T = train.instanceNoiseSteps ?? train.steps;
  return step >= T ? 0 : train.instanceNoise * (1 - step / T);
}

/**
 * x + sigma n, n ~ N(0, I) of x's shape drawn from `rng` (x.size normals; none when sigma is 0,
 * and then x itself is returned). A constant for the gradient tape: d(x + sigma n)/dx = I.
 */
export function addInstanceNoise(x: tf.Tensor, sigma: number, rng: Rng): tf.Tensor {
  if (sigma === 0) return x;
  const n = new Float32Array(x.size);
  rng.fillNormal(n);
  for (let i = 0; i < n.length; i++) n[i] = n[i]! * sigma;
  return tf.tidy(() => tf.add(x, tf.tensor(n, x.shape)));
}
