/**
 * Dense and Conv2D layers whose training pass uses unfused ops (matMul or conv2d,
 * then a bias add, then the activation).
 *
 * TF.js's stock layers call the fused matMul / conv2d ops, whose gradient is one
 * customGrad that computes every input's gradient eagerly, wanted or not. In a GAN
 * that is a lot of waste: during G's update all of D's weight gradients are
 * computed and thrown away, and so are the gradient with respect to the noise (G's
 * first dense layer) and D's first conv's gradient with respect to the images.
 * Unfused ops have one lazy gradient per input, so only what the optimizer asks
 * for is computed (about 13% of a dcgan28 step on wasm). Inference (sampling,
 * scoring) keeps the fused ops.
 *
 * The layers keep their stock class names, so saved models load anywhere as
 * stock Dense / Conv2D layers.
 */
import * as tf from '@tensorflow/tfjs';

type Kwargs = Record<string, unknown>;

/** The stock layers' members used here (private or protected in the typings). */
interface Weighted {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  activation: { apply(x: tf.Tensor): tf.Tensor };
}
interface Conv2DMembers extends Weighted {
  strides: number[];
  padding: 'valid' | 'same' | 'causal';
  dataFormat: 'channelsFirst' | 'channelsLast';
  dilationRate: number[];
}

type LayerClass<Args> = new (args: Args) => tf.layers.Layer;
type DenseArgs = Parameters<typeof tf.layers.dense>[0];
type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];

const StockDense = Object.getPrototypeOf(tf.layers.dense({ units: 1 })).constructor as LayerClass<DenseArgs>;
const StockConv2D = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })).constructor as LayerClass<Conv2DArgs>;

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

function finish(layer: Weighted, y: tf.Tensor): tf.Tensor {
  const withBias = layer.bias === null || layer.bias === undefined ? y : tf.add(y, layer.bias.read());
  return layer.activation.apply(withBias);
}

class UnfusedDense extends StockDense {
  static readonly className = 'Dense';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = single(inputs);
    if (kwargs['training'] !== true || x.rank !== 2) return super.call(inputs, kwargs);
    const self = this as unknown as Weighted;
    return tf.tidy(() => finish(self, tf.matMul(x, self.kernel.read())));
  }
}

class UnfusedConv2D extends StockConv2D {
  static readonly className = 'Conv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = single(inputs);
    const self = this as unknown as Conv2DMembers;
    const plain = x.rank === 4 && self.dataFormat === 'channelsLast' && self.padding !== 'causal' && self.dilationRate.every((d) => d === 1);
    if (kwargs['training'] !== true || !plain) return super.call(inputs, kwargs);
    const strides = self.strides as [number, number];
    return tf.tidy(() => finish(self, tf.conv2d(x as tf.Tensor4D, self.kernel.read() as tf.Tensor4D, strides, self.padding as 'valid' | 'same')));
  }
}

/** tf.layers.dense with lazy gradients in training. */
export function dense(args: DenseArgs): tf.layers.Layer {
  return new UnfusedDense(args);
}

/** tf.layers.conv2d with lazy gradients in training. */
export function conv2d(args: Conv2DArgs): tf.layers.Layer {
  return new UnfusedConv2D(args);
}
