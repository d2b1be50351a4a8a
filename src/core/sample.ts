/**
 * Generation and scoring with trained networks (inference mode), conditional ones included
 * (labels as one-hot rows). Never imports training code.
 */
import * as tf from '@tensorflow/tfjs';
import { dataRange, type ModelConfig } from './config.ts';
import { ForgerError } from './errors.ts';
import { toUint8 } from './image.ts';
import { classRows, oneHot } from './labels.ts';
import { Pack } from './models/pack.ts';
import { sampleNoise } from './noise.ts';
import type { Rng } from './rng.ts';

export interface GenerateOptions {
  /** Samples per forward pass. @default 256 */
  batchSize?: number;
  /** A conditional G's class for each sample (integers in [0, K)); required for a conditional G, refused otherwise. */
  labels?: ArrayLike<number> | null;
}

/** K for a conditional G (its second input, one-hot [K]), or 0 for an unconditional one. */
export function generatorClasses(generator: tf.LayersModel): number {
  return generator.inputs.length > 1 ? (generator.inputs[1]!.shape[1] as number) : 0;
}

/**
 * G(z) for n = z.length / latentDim noise vectors, in batches, as a flat array
 * of n samples of G's output shape. BatchNorm uses its moving averages.
 * A conditional G also takes one label per sample (opts.labels, fed as one-hot rows).
 * A number for `opts` is the batch size (the older signature).
 */
export function generate(generator: tf.LayersModel, z: Float32Array, latentDim: number, opts: GenerateOptions | number = {}): Float32Array {
  const { batchSize = 256, labels = null } = typeof opts === 'number' ? { batchSize: opts } : opts;
  const n = z.length / latentDim;
  if (!Number.isInteger(n)) throw new ForgerError('E_SHAPE', `noise of length ${z.length} is not a whole number of ${latentDim}-dim vectors`);
  const k = generatorClasses(generator);
  if (k > 0 && labels === null) throw new ForgerError('E_CONFIG', `this generator is class-conditional (${k} classes); pass a label per sample`);
  if (k === 0 && labels !== null) throw new ForgerError('E_CONFIG', 'this generator is not class-conditional; it takes no labels');
  if (labels !== null && labels.length !== n) throw new ForgerError('E_SHAPE', `${labels.length} labels for ${n} noise vectors`);
  const per = (generator.outputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i += batchSize) {
    const m = Math.min(batchSize, n - i);
    // one forward pass per batch (predict() would split it again into its default batches of 32)
    const y = tf.tidy(() => {
      const zb = tf.tensor2d(z.subarray(i * latentDim, (i + m) * latentDim), [m, latentDim]);
      const input = labels === null ? zb : [zb, oneHot(Array.from({ length: m }, (_, j) => labels[i + j]!), k)];
      return generator.predict(input, { batchSize: m }) as tf.Tensor;
    });
    out.set(y.dataSync(), i * per);
    y.dispose();
  }
  return out;
}

/**
 * n fresh samples from G with noise drawn from `rng`. A conditional G gets `labels`, or
 * when they are left out the classes in turn: sample i is of class i mod K.
 */
export function sample(generator: tf.LayersModel, model: ModelConfig, n: number, rng: Rng, labels: ArrayLike<number> | null = null): Float32Array {
  const k = generatorClasses(generator);
  const y = k > 0 ? (labels ?? Int32Array.from({ length: n }, (_, i) => i % k)) : labels;
  return generate(generator, sampleNoise(n, model.latentDim, model.noise, rng), model.latentDim, { labels: y });
}

/**
 * A class-per-row batch from a conditional G: K rows of `perClass` samples, row r of
 * class r, column j with noise vector j (drawn from `rng`) in every row. Flat, row-major.
 */
export function sampleClassRows(generator: tf.LayersModel, model: ModelConfig, perClass: number, rng: Rng): Float32Array {
  const k = generatorClasses(generator);
  if (k === 0) throw new ForgerError('E_CONFIG', 'class rows need a class-conditional generator');
  const noise = sampleNoise(perClass, model.latentDim, model.noise, rng);
  const { labels, noiseIndex } = classRows(k, perClass);
  const z = new Float32Array(labels.length * model.latentDim);
  noiseIndex.forEach((j, i) => z.set(noise.subarray(j * model.latentDim, (j + 1) * model.latentDim), i * model.latentDim));
  return generate(generator, z, model.latentDim, { labels });
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

/** D's adversarial logit from its output: the output itself, or the first of AC-GAN's [logit, class logits]. */
function adversarialLogit(out: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(out) ? out[0]! : out;
}

/**
 * The discriminator as a detector: P(real) = sigmoid(D(x)) for each sample of a [n, ...shape] batch.
 * An AC-GAN D gives its adversarial logit; a projection D needs a label (scoreConditional).
 * A PacGAN D judges packs: each sample is scored as a pack of copies of itself.
 */
export function scoreReal(discriminator: tf.LayersModel, x: Float32Array, shape: number[], batchSize = 256): Float32Array {
  if (discriminator.inputs.length > 1) throw new ForgerError('E_CONFIG', 'this discriminator is a projection D and needs a class for each image; use scoreConditional');
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
      return tf.sigmoid(adversarialLogit(discriminator.predict(input, { batchSize: m * pack })));
    });
    out.set(p.dataSync(), i);
    p.dispose();
  }
  return out;
}

export interface ConditionalScores {
  /** P(real) = sigmoid(D(x)) (projection: D(x, label) for the label below). */
  pReal: Float32Array;
  /** The class each image was scored with (projection) or that D's class head finds most likely (acgan). */
  label: Int32Array;
  /** acgan: softmax probability of that class; projection: null. */
  pClass: Float32Array | null;
}

/**
 * A conditional D as a detector, for a [n, ...shape] batch.
 *  - AC-GAN: P(real) from the adversarial logit, and the class head's most likely class.
 *  - projection: P(real) = sigmoid(D(x, c)) for the given class c, or, when `label` is
 *    null, for the class that D finds most real (the largest D(x, c) over the K classes).
 */
export function scoreConditional(discriminator: tf.LayersModel, model: ModelConfig, x: Float32Array, label: number | null, batchSize = 256): ConditionalScores {
  const shape = model.dataShape;
  const k = model.numClasses;
  const per = shape.reduce((a, b) => a * b, 1);
  const n = x.length / per;
  const pReal = new Float32Array(n);
  const labels = new Int32Array(n);
  const pClass = model.conditional === 'acgan' ? new Float32Array(n) : null;
  for (let i = 0; i < n; i += batchSize) {
    const m = Math.min(batchSize, n - i);
    const [p, c, pc] = tf.tidy(() => {
      const xb = tf.tensor(x.subarray(i * per, (i + m) * per), [m, ...shape]);
      if (model.conditional === 'acgan') {
        const [logit, classLogits] = discriminator.predict(xb, { batchSize: m }) as tf.Tensor[];
        const probs = tf.softmax(classLogits!);
        return [tf.reshape(tf.sigmoid(logit!), [m]), tf.cast(tf.argMax(probs, 1), 'int32'), tf.max(probs, 1)];
      }
      // projection: D(x, c) for the given class, or for every class [m, K] and the best one
      const classes = label === null ? Array.from({ length: k }, (_, c) => c) : [label];
      const logits = tf.concat(classes.map((c) => discriminator.predict([xb, oneHot(new Array<number>(m).fill(c), k)], { batchSize: m }) as tf.Tensor), 1);
      const best = tf.argMax(logits, 1);
      return [tf.sigmoid(tf.max(logits, 1)), label === null ? tf.cast(best, 'int32') : tf.fill([m], label, 'int32'), tf.zeros([m])];
    });
    pReal.set(p!.dataSync(), i);
    labels.set(c!.dataSync(), i);
    if (pClass) pClass.set(pc!.dataSync(), i);
    tf.dispose([p!, c!, pc!]);
  }
  return { pReal, label: labels, pClass };
}
