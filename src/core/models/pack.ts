/**
 * PacGAN packing (Lin et al. 2018): D judges m samples at once, concatenated, so a
 * generator that covers few modes gives packs with tell-tale repeats. As D's first layer:
 *
 *   points [N, d]        -> [N/m, m*d]
 *   images [N, h, w, c]  -> [N/m, h, w, m*c]   (the m images' channels side by side)
 *
 * Samples i*m .. i*m + m - 1 form pack i; batches are shuffled, so packs are random.
 * D then gives N/m outputs, one per pack, and every loss averages over packs. It uses
 * only reshape and transpose, so it runs on every backend and has every gradient
 * (second order too, for the penalties).
 */
import * as tf from '@tensorflow/tfjs';
import { ForgerError } from '../errors.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** Pack x [N, ...F] into [N/m, ...F[:-1], m*F_last]; N must be a multiple of m. */
export function packSamples(x: tf.Tensor, m: number): tf.Tensor {
  return tf.tidy(() => {
    const [n, ...f] = x.shape as number[];
    if (n === undefined || f.length === 0) throw new ForgerError('E_SHAPE', `packing needs a batch [N, ...], got [${x.shape}]`);
    if (n % m !== 0) throw new ForgerError('E_SHAPE', `a batch of ${n} cannot be split into packs of ${m}; use a batch size that is a multiple of ${m}`);
    if (m === 1) return tf.clone(x);
    const last = f[f.length - 1]!;
    const spatial = f.slice(0, -1);
    if (spatial.length === 0) return tf.reshape(x, [n / m, m * last]);
    // [N, ...S, C] -> [N/m, m, ...S, C] -> [N/m, ...S, m, C] -> [N/m, ...S, m*C]
    const grouped = tf.reshape(x, [n / m, m, ...f]);
    const axes = [0, ...spatial.map((_, i) => i + 2), 1, f.length + 1];
    return tf.reshape(tf.transpose(grouped, axes), [n / m, ...spatial, m * last]);
  });
}

export interface PackArgs extends LayerArgs {
  /** Samples per pack (m >= 2). */
  size: number;
}

/** The packing step as a layer: [N, ...F] -> [N/m, ...F[:-1], m*F_last]. No weights. */
export class Pack extends tf.layers.Layer {
  static readonly className = 'ForgerPack';
  readonly size: number;

  constructor(args: PackArgs) {
    super(args);
    this.size = args.size;
    if (!Number.isInteger(this.size) || this.size < 2) throw new ForgerError('E_CONFIG', `pack size ${this.size} is invalid; expected an integer >= 2`);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const last = s[s.length - 1];
    if (s.length < 2 || last === null || last === undefined) throw new ForgerError('E_SHAPE', `${this.name}: packing needs [N, ...features] with a known last axis, got [${s}]`);
    return [null, ...s.slice(1, -1), last * this.size];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return packSamples(Array.isArray(inputs) ? inputs[0]! : inputs, this.size);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), size: this.size };
  }
}

tf.serialization.registerClass(Pack);
