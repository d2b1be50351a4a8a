/**
 * Layers that let D look at the whole batch, so that a generator which collapses
 * to a few outputs is easy to tell from the data (a batch of near-copies has no spread).
 *
 *   MinibatchStdDev (Karras et al. 2018, ProGAN; StyleGAN's minibatch_stddev_layer):
 *     [N, ...F] -> [N, ...F[:-1], F_last + 1], one extra feature / channel holding the
 *     mean over features of the standard deviation over the sample's group.
 *   MinibatchDiscrimination (Salimans et al. 2016, section 3.2):
 *     [N, A] -> [N, A + B], o(x_i)_b = sum_{j != i} exp(-||M_i,b - M_j,b||_1), M = x T.
 *
 * Both register with tf.serialization under their class names, here in the isomorphic
 * core, so a saved D loads with tf.loadLayersModel wherever this module was imported
 * (Forger's model-files.ts imports it for that; so do the model builders).
 * They use only ops the cpu, wasm and native backends all have.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config.ts';
import { ForgerError } from '../errors.ts';
import { makeInitializers } from './init.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Record<string, unknown>;
type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/** Inside sqrt(var + eps), as StyleGAN: finite value and gradient when a group has no spread. */
export const STDDEV_EPSILON = 1e-8;

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

function singleShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
  return (Array.isArray(shape[0]) ? shape[0] : shape) as tf.Shape;
}

/**
 * The group size used for a batch of n (group >= 2): G = min(group, n) when it divides n,
 * else the largest divisor of n below it; when that is 1 (n prime and > group), one group
 * of all n, so the batch still measures its spread (a group of 1 has none). Training
 * batches are checked to divide evenly (config.ts); the fallback is for inference, e.g.
 * the last, partial batch of `forger score`.
 */
export function stddevGroupSize(n: number, group: number): number {
  const g = Math.min(group, n);
  for (let d = g; d > 1; d--) if (n % d === 0) return d;
  return n;
}

/**
 * Minibatch standard deviation of x [N, ...F], as tf ops: sample i is in group i mod M
 * (M = N / G, StyleGAN's reshape to [G, M, ...F]); s_m = mean over F of
 * sqrt(var over the group + 1e-8) (biased variance), appended to x's last axis
 * (broadcast over any spatial axes).
 */
export function minibatchStdDev(x: tf.Tensor, group: number): tf.Tensor {
  return tf.tidy(() => {
    const [n, ...f] = x.shape as number[];
    if (n === undefined || f.length === 0) throw new ForgerError('E_SHAPE', `minibatch stddev needs a batch of features [N, ...], got [${x.shape}]`);
    const g = stddevGroupSize(n, group);
    const m = n / g;
    // [N, ...F] -> [G, M, ...F] -> std over the group [M, ...F] -> mean over F [M]
    const y = tf.reshape(x, [g, m, ...f]);
    const centred = tf.sub(y, tf.mean(y, 0, true));
    const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), STDDEV_EPSILON));
    const s = tf.mean(std, f.map((_, i) => i + 1));
    // [M] -> [N] (sample i gets s_{i mod M}) -> [N, 1.., 1] -> [N, ...F[:-1], 1]
    const spatial = f.slice(0, -1);
    const perSample = tf.reshape(tf.tile(s, [g]), [n, ...spatial.map(() => 1), 1]);
    const extra = spatial.length === 0 ? perSample : tf.tile(perSample, [1, ...spatial, 1]);
    return tf.concat([x, extra], -1);
  });
}

export interface MinibatchStdDevArgs extends LayerArgs {
  /** Samples per group (G); see stddevGroupSize for batches it does not divide. @default 4 */
  groupSize?: number;
}

/** The minibatch standard deviation as a layer: [N, ...F] -> [N, ...F[:-1], F_last + 1]. No weights. */
export class MinibatchStdDev extends tf.layers.Layer {
  static readonly className = 'ForgerMinibatchStdDev';
  readonly groupSize: number;

  constructor(args: MinibatchStdDevArgs = {}) {
    super(args);
    this.groupSize = args.groupSize ?? 4;
    if (!Number.isInteger(this.groupSize) || this.groupSize < 2) {
      throw new ForgerError('E_CONFIG', `minibatch stddev group size ${this.groupSize} is invalid; expected an integer >= 2 (a group of 1 has no spread)`);
    }
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    const last = s[s.length - 1];
    if (s.length < 2 || last === null || last === undefined) throw new ForgerError('E_SHAPE', `${this.name}: minibatch stddev needs [N, ...features] with a known last axis, got [${s}]`);
    return [...s.slice(0, -1), last + 1];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return minibatchStdDev(single(inputs), this.groupSize);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groupSize: this.groupSize };
  }
}

/**
 * Minibatch discrimination of f [N, A] with T [A, B*C], as tf ops:
 *   M = f T -> [N, B, C];  c_b(i, j) = exp(-||M_i,b - M_j,b||_1);  o_i,b = sum_{j != i} c_b(i, j)
 * and the output concat(f, o) [N, A + B]. The paper's sum runs over all j, which adds
 * exp(0) = 1 to every o; it is left out here (as the authors' code does), so o counts
 * only the other samples near x_i and a batch of 1 gives o = 0. Memory: N*N*B*C.
 */
export function minibatchDiscrimination(f: tf.Tensor, T: tf.Tensor, kernels: number, dims: number): tf.Tensor {
  return tf.tidy(() => {
    const n = f.shape[0]!;
    // [N, A] x [A, B*C] -> [N, B, C]
    const M = tf.reshape(tf.matMul(f as tf.Tensor2D, T as tf.Tensor2D), [n, kernels, dims]);
    // [N, 1, B, C] - [1, N, B, C] -> L1 over C: [N, N, B]
    const l1 = tf.sum(tf.abs(tf.sub(tf.expandDims(M, 1), tf.expandDims(M, 0))), 3);
    // exp(-l1) with the j = i terms masked out, summed over j: [N, B]
    const others = tf.reshape(tf.sub(1, tf.eye(n)), [n, n, 1]);
    const o = tf.sum(tf.mul(tf.exp(tf.neg(l1)), others), 1);
    return tf.concat([f, o], 1);
  });
}

export interface MinibatchDiscriminationArgs extends LayerArgs {
  /** Number of kernels B (features added). @default 50 */
  kernels?: number;
  /** Dimension C of each kernel's projection. @default 5 */
  dims?: number;
  /** Initializer of T [A, B*C]. Not saved with the config: loading sets T from the weights. @default glorotUniform */
  kernelInitializer?: Initializer;
}

/** Minibatch discrimination as a layer: [N, A] -> [N, A + B], with the trainable T [A, B*C] ('kernel'). */
export class MinibatchDiscrimination extends tf.layers.Layer {
  static readonly className = 'ForgerMinibatchDiscrimination';
  readonly kernels: number;
  readonly dims: number;
  private readonly kernelInitializer: Initializer;
  private kernel: tf.LayerVariable | null = null;

  constructor(args: MinibatchDiscriminationArgs = {}) {
    super(args);
    this.kernels = args.kernels ?? 50;
    this.dims = args.dims ?? 5;
    for (const [key, v] of [['kernels', this.kernels], ['dims', this.dims]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ForgerError('E_CONFIG', `minibatch discrimination ${key} ${v} is invalid; expected an integer >= 1`);
    }
    this.kernelInitializer = args.kernelInitializer ?? tf.initializers.glorotUniform({});
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = singleShape(inputShape);
    const a = s[1];
    if (s.length !== 2 || a === null || a === undefined) {
      throw new ForgerError('E_SHAPE', `${this.name}: minibatch discrimination needs flat features [N, A], got [${s}]; flatten first`);
    }
    this.kernel = this.addWeight('kernel', [a, this.kernels * this.dims], 'float32', this.kernelInitializer, undefined, true);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    const a = s[1];
    if (s.length !== 2 || a === null || a === undefined) {
      throw new ForgerError('E_SHAPE', `${this.name}: minibatch discrimination needs flat features [N, A], got [${s}]; flatten first`);
    }
    return [s[0]!, a + this.kernels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = single(inputs);
    if (this.kernel === null) throw new ForgerError('E_SHAPE', `${this.name} was called before it was built`);
    if (x.rank !== 2) throw new ForgerError('E_SHAPE', `${this.name}: minibatch discrimination needs flat features [N, A], got [${x.shape}]`);
    return minibatchDiscrimination(x, this.kernel.read(), this.kernels, this.dims);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernels: this.kernels, dims: this.dims };
  }
}

tf.serialization.registerClass(MinibatchStdDev);
tf.serialization.registerClass(MinibatchDiscrimination);

/** A minibatch stddev layer (factory, as tf.layers). */
export function minibatchStdDevLayer(args: MinibatchStdDevArgs): MinibatchStdDev {
  return new MinibatchStdDev(args);
}

/** A minibatch discrimination layer (factory, as tf.layers). */
export function minibatchDiscriminationLayer(args: MinibatchDiscriminationArgs): MinibatchDiscrimination {
  return new MinibatchDiscrimination(args);
}

/**
 * D's minibatch layer for `m.minibatch` (null when 'off'), named d_mbstd / d_mbdisc.
 * T is seeded from its own stream, so turning the option on leaves D's other initial weights as they were.
 */
export function discriminatorMinibatch(m: ModelConfig, seed: number, args: LayerArgs = {}): tf.layers.Layer | null {
  if (m.minibatch === 'stddev') return new MinibatchStdDev({ groupSize: m.minibatchGroup, name: 'd_mbstd', ...args });
  if (m.minibatch !== 'discrimination') return null;
  const kernelInitializer = makeInitializers(m.init, seed, 'init-d-minibatch').kernel();
  return new MinibatchDiscrimination({ kernels: m.minibatchKernels, dims: m.minibatchDims, kernelInitializer, name: 'd_mbdisc', ...args });
}
