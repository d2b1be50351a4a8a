/**
 * Batch normalisation over the last axis with a one-node training pass:
 *   y = (x - mean) / sqrt(var + eps) * gamma + beta,  mean and (biased) var over the batch,
 * with the gradient written out by hand:
 *   dbeta = sum(dy), dgamma = sum(dy * xhat), dx = gamma / sqrt(var + eps) / R * (R dy - dbeta - xhat dgamma)
 * TF.js's stock layer records moments, sub, rsqrt, FusedBatchNorm and a tiled gradient:
 * about 25 full-size passes where this makes 5 (two when a backend registers the
 * kernels below, as Forger's native backend does).
 *
 * The layer is TF.js's BatchNormalization with only its training call replaced; it
 * serialises as 'BatchNormalization', so saved models load anywhere as stock layers.
 */
import * as tf from '@tensorflow/tfjs';

/** Optional kernels: x, gamma, beta -> y, mean, variance; and dy, x, mean, variance, gamma -> dx, dgamma, dbeta. Attr: epsilon. */
export const BN_TRAIN_KERNEL = 'ForgerBatchNormTrain';
export const BN_GRAD_KERNEL = 'ForgerBatchNormGrad';

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

function forward(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor[] {
  if (hasKernel(BN_TRAIN_KERNEL)) return tf.engine().runKernel(BN_TRAIN_KERNEL, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
  return bnTrainOps(x, gamma, beta, epsilon);
}

/** What BN_TRAIN_KERNEL computes, as tf ops: [y, mean, variance]. */
export function bnTrainOps(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor[] {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const mean = tf.mean(x, axes);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), axes);
  const scale = tf.mul(tf.rsqrt(tf.add(variance, epsilon)), gamma);
  return [tf.add(tf.mul(xc, scale), beta), mean, variance];
}

function backward(dy: tf.Tensor, x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, gamma: tf.Tensor, epsilon: number): tf.Tensor[] {
  if (hasKernel(BN_GRAD_KERNEL)) return tf.engine().runKernel(BN_GRAD_KERNEL, { dy, x, mean, variance, gamma }, { epsilon }) as tf.Tensor[];
  return bnGradOps(dy, x, mean, variance, gamma, epsilon);
}

/** What BN_GRAD_KERNEL computes, as tf ops: [dx, dgamma, dbeta]. */
export function bnGradOps(dy: tf.Tensor, x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, gamma: tf.Tensor, epsilon: number): tf.Tensor[] {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const rows = x.size / x.shape[x.shape.length - 1]!;
  const invStd = tf.rsqrt(tf.add(variance, epsilon));
  const xHat = tf.mul(tf.sub(x, mean), invStd);
  const dBeta = tf.sum(dy, axes);
  const dGamma = tf.sum(tf.mul(dy, xHat), axes);
  // dx = (gamma invStd / R) (R dy - dBeta - xHat dGamma)
  const k = tf.div(tf.mul(gamma, invStd), rows);
  const dx = tf.mul(tf.sub(tf.sub(tf.mul(dy, rows), dBeta), tf.mul(xHat, dGamma)), k);
  return [dx, dGamma, dBeta];
}

/**
 * Training-mode batch norm over the last axis; returns y plus the batch mean and
 * variance (kept: the caller disposes them).
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  let stats: tf.Tensor[] = [];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance] = forward(xi, g, b, epsilon);
    save([xi, mean!, variance!, g]);
    stats = [tf.keep(mean!), tf.keep(variance!)];
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sm, sv, sg] = saved;
        return backward(dy, sx!, sm!, sv!, sg!, epsilon);
      },
    };
  }) as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  const y = op(x, gamma, beta);
  return { y, mean: stats[0]!, variance: stats[1]! };
}

type Kwargs = Record<string, unknown>;
interface StockBatchNorm extends tf.layers.Layer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}
type StockBatchNormClass = new (args: Parameters<typeof tf.layers.batchNormalization>[0]) => StockBatchNorm;

const StockBatchNormalization = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as StockBatchNormClass;

class ForgerBatchNormalization extends StockBatchNormalization {
  /** Saved as, and loaded back as, TF.js's own layer. */
  static readonly className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const lastAxis = this.axis === -1 || this.axis === x.rank - 1;
    if (kwargs['training'] !== true || !lastAxis || !this.center || !this.scale) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTrain(x, this.gamma.read(), this.beta.read(), this.epsilon);
      // moving <- moving - (moving - batch) (1 - momentum), as the stock layer
      for (const [v, batch] of [[this.movingMean, mean], [this.movingVariance, variance]] as const) {
        const orig = v.read();
        v.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), 1 - this.momentum)));
      }
      tf.dispose([mean, variance]);
      return y;
    });
  }
}

/** A BatchNormalization layer (last axis) with the fast training pass above. */
export function fusedBatchNormalization(args: Parameters<typeof tf.layers.batchNormalization>[0]): tf.layers.Layer {
  return new ForgerBatchNormalization(args);
}
