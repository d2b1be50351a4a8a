/**
 * Spectral normalisation (Miyato et al. 2018): a layer uses W / sigma(W), sigma(W) the
 * largest singular value of its kernel viewed as an [out, in] matrix, estimated by
 * power iteration with a persistent vector u (PyTorch's torch.nn.utils.spectral_norm):
 *
 *   training call:  v = normalize(W^T u),  u <- normalize(W v),  sigma = u^T W v
 *   inference call: u^ = normalize(u),     v = normalize(W^T u^), sigma = u^^T W v   (u unchanged)
 *
 * One power iteration per training call, so a D called three times in a Forger step
 * (reals, fakes, G's update) moves u three times. u and v are constants for the
 * gradient, as in PyTorch: d sigma / dW = u v^T, so with G = dL/d(W/sigma)
 *   dL/dW = (G - <G, W/sigma> u v^T) / sigma.
 * The whole normalisation is one customGrad node; its forward ops are not recorded, so
 * the power iteration costs nothing on the tape. The new u is written to the layer's
 * non-trainable weight `sn_u` outside the gradient, as batch norm writes its moving
 * statistics, so it is saved with the weights and a resumed run continues the same
 * iteration bit for bit. Inference normalises the stored u first, so a moving average
 * of G's weights (ema.ts averages every weight, sn_u too) still gives a unit vector.
 *
 * Kernel views ([out, in] = the weight's output units / channels by everything else):
 *   Dense [in, units]                 -> units x in
 *   Conv2D [kh, kw, inC, outC]        -> outC x (kh kw inC)
 *   Conv2DTranspose [kh, kw, outC, inC] -> outC x (kh kw inC), the output channels, as
 *     PyTorch's dim=1 for ConvTranspose (its weight is [inC, outC, kh, kw]).
 *
 * The layers are the stock Dense / Conv2D / Conv2DTranspose with an extra weight and a
 * call written with unfused ops (lazy gradients, as unfused.ts). They register with
 * tf.serialization here, in the isomorphic core, under their own class names, so
 * tf.loadLayersModel rebuilds them wherever this module was imported (model-files.ts
 * imports it; so do the model builders). Only matMul, conv2d, conv2dTranspose (the
 * layers), transpose, reshape, sums and elementwise ops: the cpu, wasm and native
 * backends all have them.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig, SpectralNormMode } from '../config.ts';
import { ForgerError } from '../errors.ts';
import { Rng } from '../rng.ts';
import { conv2d, dense } from './unfused.ts';

type Kwargs = Record<string, unknown>;

/** Floor of a norm before dividing by it, as PyTorch's normalize(eps=1e-12). */
export const SN_EPSILON = 1e-12;

/**
 * Where a kernel keeps its output axis: 'last' (Dense, Conv2D: [..., out]) or
 * 'second-last' (Conv2DTranspose: [kh, kw, out, in]).
 */
export type OutAxis = 'last' | 'second-last';

/** The kernel as M = W^T, [in, out] (rows: everything but the output axis). */
function toMatrix(kernel: tf.Tensor, outAxis: OutAxis): tf.Tensor2D {
  const out = outAxis === 'last' ? kernel.shape[kernel.rank - 1]! : kernel.shape[kernel.rank - 2]!;
  const k = outAxis === 'last' ? kernel : tf.transpose(kernel, swapLastTwo(kernel.rank));
  return tf.reshape(k, [-1, out]);
}

/** An [in, out] matrix back in the kernel's layout (the inverse of toMatrix). */
function fromMatrix(m: tf.Tensor, kernelShape: number[], outAxis: OutAxis): tf.Tensor {
  if (outAxis === 'last') return tf.reshape(m, kernelShape);
  const perm = swapLastTwo(kernelShape.length);
  return tf.transpose(tf.reshape(m, perm.map((p) => kernelShape[p]!)), perm);
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

function normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x))), SN_EPSILON));
}

export interface SpectralNormResult {
  /** W / sigma, in the kernel's layout; on the tape when a gradient is being taken. */
  kernel: tf.Tensor;
  /** The u used for sigma: after the iteration, or the stored one normalised (kept: the caller disposes). */
  u: tf.Tensor1D;
  /** The estimate of the largest singular value (kept: the caller disposes). */
  sigma: tf.Scalar;
}

/**
 * kernel / sigma(kernel), with one power iteration from u when `iterate`, else sigma from
 * u as it is. The gradient flows to the kernel only, with u and v held constant.
 */
export function spectralNormalize(kernel: tf.Tensor, u: tf.Tensor1D, outAxis: OutAxis, iterate: boolean): SpectralNormResult {
  let uOut: tf.Tensor1D | null = null;
  let sigmaOut: tf.Scalar | null = null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [k, u0, save] = args as [tf.Tensor, tf.Tensor1D, tf.GradSaveFunc];
    const m = toMatrix(k, outAxis); // [in, out]
    const uStart = iterate ? u0 : normalize(u0);
    // Matrix-vector products as a broadcast multiply and a sum (a weight-sized pass either way):
    // with matMul here (the second one transposeA) wasm's heap was corrupted during G's update
    // (memory access out of bounds in a later dispose; a hang with threads), not root-caused.
    // v = normalize(W^T u): [in, out] * [1, out] -> sum over out -> [in, 1]
    const v = normalize(tf.sum(tf.mul(m, tf.reshape(uStart, [1, -1])), 1, true));
    // W v: [in, out] * [in, 1] -> sum over in -> [out]
    const wv = tf.sum(tf.mul(m, v), 0);
    const uNew = iterate ? normalize(wv) : uStart;
    const sigma = tf.sum(tf.mul(uNew, wv)) as tf.Scalar;
    save([k, uNew, v, sigma]);
    uOut = tf.keep(uNew) as tf.Tensor1D;
    sigmaOut = tf.keep(sigma);
    return {
      value: tf.div(k, sigma),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sk, su, sv, ss] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Scalar];
        // <G, W / sigma>, then (G - <G, W / sigma> u v^T) / sigma; u v^T is v u^T in M's layout
        const g = tf.div(tf.sum(tf.mul(dy, sk)), ss);
        const outer = fromMatrix(tf.mul(sv, tf.reshape(su, [1, -1])), sk.shape, outAxis);
        return [tf.div(tf.sub(dy, tf.mul(g, outer)), ss), tf.zerosLike(su)];
      },
    };
  }) as (k: tf.Tensor, u: tf.Tensor1D) => tf.Tensor;
  const normalized = op(kernel, u);
  return { kernel: normalized, u: uOut!, sigma: sigmaOut! };
}

/** A unit vector of length n from a seeded N(0, 1). */
export function initialU(n: number, seed: number): Float32Array {
  const rng = new Rng(seed, 'sn-u');
  const x = Array.from({ length: n }, () => rng.normal());
  const norm = Math.max(Math.sqrt(x.reduce((s, a) => s + a * a, 0)), SN_EPSILON);
  return Float32Array.from(x, (a) => a / norm);
}

/** The stock layers' members used here (private or protected in the typings). */
interface Weighted {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  activation: { apply(x: tf.Tensor): tf.Tensor };
}
interface ConvMembers extends Weighted {
  filters: number;
  strides: number[];
  padding: 'valid' | 'same' | 'causal';
  dataFormat: 'channelsFirst' | 'channelsLast';
  dilationRate: number[];
}

interface SpectralArgs {
  /** Seed of u's initial N(0, 1) draw. @default 0 */
  uSeed?: number;
}
export type SNDenseArgs = Parameters<typeof tf.layers.dense>[0] & SpectralArgs;
export type SNConv2DArgs = Parameters<typeof tf.layers.conv2d>[0] & SpectralArgs;
export type SNConv2DTransposeArgs = Parameters<typeof tf.layers.conv2dTranspose>[0] & SpectralArgs;

/** A stock layer class: constructible from args, and from a saved config (the inherited static fromConfig). */
type LayerClass<Args> = (new (args: Args) => tf.layers.Layer) & Pick<typeof tf.layers.Layer, 'fromConfig'>;
const StockDense = Object.getPrototypeOf(tf.layers.dense({ units: 1 })).constructor as LayerClass<SNDenseArgs>;
const StockConv2D = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })).constructor as LayerClass<SNConv2DArgs>;
const StockConv2DTranspose = Object.getPrototypeOf(tf.layers.conv2dTranspose({ filters: 1, kernelSize: 1 })).constructor as LayerClass<SNConv2DTransposeArgs>;

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

function finish(layer: Weighted, y: tf.Tensor): tf.Tensor {
  const withBias = layer.bias === null || layer.bias === undefined ? y : tf.add(y, layer.bias.read());
  return layer.activation.apply(withBias);
}

/** The shared part of the three layers: the u weight, the normalised kernel, the u update. */
class PowerIteration {
  u: tf.LayerVariable | null = null;
  constructor(
    readonly seed: number,
    readonly outAxis: OutAxis,
  ) {
    if (!Number.isInteger(seed) || seed < 0) throw new ForgerError('E_CONFIG', `spectral norm uSeed ${seed} is invalid; expected an integer >= 0`);
  }

  /** Add `sn_u` [out] to `layer` (call from build, after the kernel exists). */
  addU(layer: tf.layers.Layer, out: number): void {
    const add = (layer as unknown as { addWeight: (...a: unknown[]) => tf.LayerVariable }).addWeight.bind(layer);
    this.u = add('sn_u', [out], 'float32', tf.initializers.zeros(), undefined, false);
    const init = tf.tensor1d(initialU(out, this.seed));
    this.u.write(init);
    init.dispose();
  }

  /** W / sigma for this call; a training call also stores the iterated u. */
  kernel(layer: Weighted, name: string, kwargs: Kwargs): tf.Tensor {
    if (this.u === null) throw new ForgerError('E_SHAPE', `${name} was called before it was built`);
    const training = kwargs['training'] === true;
    const { kernel, u, sigma } = spectralNormalize(layer.kernel.read(), this.u.read() as tf.Tensor1D, this.outAxis, training);
    if (training) this.u.write(u);
    tf.dispose([u, sigma]);
    return kernel;
  }
}

function checkConv(layer: ConvMembers, name: string): void {
  if (layer.dataFormat !== 'channelsLast' || layer.padding === 'causal' || layer.dilationRate.some((d) => d !== 1)) {
    throw new ForgerError('E_CONFIG', `${name}: spectral norm supports channelsLast convs with padding valid or same and no dilation`);
  }
}

/** Dense with a spectrally normalised kernel ([in, units] viewed as units x in). */
export class SNDense extends StockDense {
  static readonly className = 'ForgerSNDense';
  private readonly sn: PowerIteration;

  constructor(args: SNDenseArgs) {
    super(args);
    this.sn = new PowerIteration(args.uSeed ?? 0, 'last');
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    super.build(inputShape);
    this.sn.addU(this, (this as unknown as { units: number }).units);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const self = this as unknown as Weighted;
    return tf.tidy(() => {
      const x = single(inputs);
      const w = this.sn.kernel(self, this.name, kwargs) as tf.Tensor2D;
      const [inDim, units] = w.shape;
      // [..., in] -> [N, in] x [in, units] -> [..., units]
      const y = x.rank === 2 ? tf.matMul(x as tf.Tensor2D, w) : tf.reshape(tf.matMul(tf.reshape(x, [-1, inDim]), w), [...x.shape.slice(0, -1), units]);
      return finish(self, y);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), uSeed: this.sn.seed };
  }
}

/** Conv2D with a spectrally normalised kernel ([kh, kw, inC, outC] viewed as outC x kh kw inC). */
export class SNConv2D extends StockConv2D {
  static readonly className = 'ForgerSNConv2D';
  private readonly sn: PowerIteration;

  constructor(args: SNConv2DArgs) {
    super(args);
    checkConv(this as unknown as ConvMembers, this.name);
    this.sn = new PowerIteration(args.uSeed ?? 0, 'last');
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    super.build(inputShape);
    this.sn.addU(this, (this as unknown as ConvMembers).filters);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const self = this as unknown as ConvMembers;
    return tf.tidy(() => {
      const w = this.sn.kernel(self, this.name, kwargs) as tf.Tensor4D;
      const y = tf.conv2d(single(inputs) as tf.Tensor4D, w, self.strides as [number, number], self.padding as 'valid' | 'same');
      return finish(self, y);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), uSeed: this.sn.seed };
  }
}

/** Conv2DTranspose with a spectrally normalised kernel ([kh, kw, outC, inC] viewed as outC x kh kw inC). */
export class SNConv2DTranspose extends StockConv2DTranspose {
  static readonly className = 'ForgerSNConv2DTranspose';
  private readonly sn: PowerIteration;

  constructor(args: SNConv2DTransposeArgs) {
    super(args);
    checkConv(this as unknown as ConvMembers, this.name);
    this.sn = new PowerIteration(args.uSeed ?? 0, 'second-last');
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    super.build(inputShape);
    this.sn.addU(this, (this as unknown as ConvMembers).filters);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const self = this as unknown as ConvMembers;
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor4D;
      if (x.rank !== 4) throw new ForgerError('E_SHAPE', `${this.name}: expected a rank-4 input, got [${x.shape}]`);
      // [N, h, w, inC] -> [N, h', w', outC], the stock layer's output shape
      const outShape = this.computeOutputShape(x.shape) as [number, number, number, number];
      const w = this.sn.kernel(self, this.name, kwargs) as tf.Tensor4D;
      const y = tf.conv2dTranspose(x, w, outShape, self.strides as [number, number], self.padding as 'valid' | 'same');
      return finish(self, y);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), uSeed: this.sn.seed };
  }
}

tf.serialization.registerClass(SNDense);
tf.serialization.registerClass(SNConv2D);
tf.serialization.registerClass(SNConv2DTranspose);

/** The dense, conv and transposed-conv factories a builder uses for one network. */
export interface LayerFactories {
  dense(args: Parameters<typeof tf.layers.dense>[0]): tf.layers.Layer;
  conv2d(args: Parameters<typeof tf.layers.conv2d>[0]): tf.layers.Layer;
  conv2dTranspose(args: Parameters<typeof tf.layers.conv2dTranspose>[0]): tf.layers.Layer;
}

/** Whether `mode` normalises network `net`. */
export function spectralNormApplies(mode: SpectralNormMode, net: 'g' | 'd'): boolean {
  return mode === 'both' || (mode === 'd' && net === 'd');
}

/**
 * Layer factories for network `net` ('g' or 'd'): spectrally normalised when
 * m.spectralNorm covers it, else the unfused dense / conv2d and the stock conv2dTranspose.
 * Each u is seeded from its own stream (sn-g, sn-d), so turning the option on leaves the
 * kernels' initial values as they were; `stream` gives layers added beside a network
 * (the conditional ones) their own u seeds. Layer (and so weight) names are the caller's.
 */
export function networkLayers(m: ModelConfig, net: 'g' | 'd', seed: number, stream = `sn-${net}`): LayerFactories {
  if (!spectralNormApplies(m.spectralNorm, net)) return { dense, conv2d, conv2dTranspose: (args) => tf.layers.conv2dTranspose(args) };
  const rng = new Rng(seed, stream);
  const uSeed = () => rng.nextUint32();
  return {
    dense: (args) => new SNDense({ ...args, uSeed: uSeed() }),
    conv2d: (args) => new SNConv2D({ ...args, uSeed: uSeed() }),
    conv2dTranspose: (args) => new SNConv2DTranspose({ ...args, uSeed: uSeed() }),
  };
}
