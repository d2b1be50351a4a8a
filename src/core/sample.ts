/** Generation and scoring with trained networks (inference mode). Never imports training code. */
import * as tf from '@tensorflow/tfjs';
import { dataRange, type ModelConfig } from './config.ts';
import { ForgerError } from './errors.ts';
import { toUint8 } from './image.ts';
import { Pack } from './models/pack.ts';
import { sampleNoise } from './noise.ts';
import type { Rng } from './rng.ts';

/**
 * G(z) for n = z.length / latentDim noise vectors, in batches, as a flat array
 * of n samples of G's output shape. BatchNorm uses its moving averages.
 */
export function generate(generator: tf.LayersModel, z: Float32Array, latentDim: number, batchSize = 256): Float32Array {
  const n = z.length / latentDim;
  if (!Number.isInteger(n)) throw new ForgerError('E_SHAPE', `noise of length ${z.length} is not a whole number of ${latentDim}-dim vectors`);
  const per = (generator.outputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i += batchSize) {
    const m = Math.min(batchSize, n - i);
    // one forward pass per batch (predict() would split it again into its default batches of 32)
    const y = tf.tidy(() => generator.predict(tf.tensor2d(z.subarray(i * latentDim, (i + m) * latentDim), [m, latentDim]), { batchSize: m }) as tf.Tensor);
    out.set(y.dataSync(), i * per);
    y.dispose();
  }
  return out;
}

/** n fresh samples from G with noise drawn from `rng`. */
export function sample(generator: tf.LayersModel, model: ModelConfig, n: number, rng: Rng): Float32Array {
  return generate(generator, sampleNoise(n, model.latentDim, model.noise, rng), model.latentDim);
}

/** G's output as 8-bit pixels (images only). */
export function toPixels(values: Float32Array, model: ModelConfig): Uint8Array {
  const range = dataRange(model);
  if (!range) throw new ForgerError('E_CONFIG', 'this model generates points, not images');
  return toUint8(values, range);
}

/** Samples per pack of a PacGAN discriminator (its ForgerPack layer), 1 for an ordinary one. */
export function packSize(discriminator: tf.LayersModel): number {
  const layer = discriminator.layers.find((l) => l instanceof Pack) as Pack | undefined;
  return layer?.size ?? 1;
}

/**
 * The discriminator as a detector: P(real) = sigmoid(D(x)) for each sample of a [n, ...shape] batch.
 * A PacGAN D judges packs: each sample is scored as a pack of copies of itself.
 */
export function scoreReal(discriminator: tf.LayersModel, x: Float32Array, shape: number[], batchSize = 256): Float32Array {
  const per = shape.reduce((a, b) => a * b, 1);
  const n = x.length / per;
  const pack = packSize(discriminator);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += batchSize) {
    const m = Math.min(batchSize, n - i);
    const p = tf.tidy(() => {
      const batch = tf.tensor(x.subarray(i * per, (i + m) * per), [m, ...shape]);
      // [m, ...shape] -> [m, pack, ...shape] -> [m * pack, ...shape]: sample k fills pack k
      const input = pack === 1 ? batch : tf.reshape(tf.tile(tf.expandDims(batch, 1), [1, pack, ...shape.map(() => 1)]), [m * pack, ...shape]);
      return tf.sigmoid(discriminator.predict(input, { batchSize: m * pack }) as tf.Tensor);
    });
    out.set(p.dataSync(), i);
    p.dispose();
  }
  return out;
}
