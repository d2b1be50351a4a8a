/**
 * An exponential moving average of a model's weights (the "G_ema" of Karras et al.
 * 2018; Yazici et al. 2019): samples from the averaged generator are steadier
 * and usually better than from the generator being trained, whose weights
 * jitter with every Adam step.
 *
 *   shadow <- shadow + (1 - d_t) (live - shadow),  d_t = min(decay, (1 + t) / (10 + t))
 *
 * The warm-up d_t (TensorFlow's ExponentialMovingAverage with num_updates) keeps
 * the first steps from being dominated by the initial weights; it depends only on
 * the step count t, so a resumed run continues the same average. Every weight is
 * averaged, batch-norm moving statistics included.
 */
import * as tf from '@tensorflow/tfjs';
import { ForgerError } from './errors.ts';

/** The decay used at update number t (0-based). */
export function emaDecayAt(decay: number, t: number): number {
  return Math.min(decay, (1 + t) / (10 + t));
}

/**
 * Copy every weight of `from` into `to` (same architecture). Values are cloned,
 * so later updates of either model never show in the other.
 */
export function copyWeights(from: tf.LayersModel, to: tf.LayersModel): void {
  const src = from.weights;
  const dst = to.weights;
  checkPair(src, dst);
  tf.tidy(() => dst.forEach((w, i) => w.write(tf.clone(src[i]!.read()))));
}

function checkPair(src: tf.LayerVariable[], dst: tf.LayerVariable[]): void {
  const shapes = (ws: tf.LayerVariable[]) => ws.map((w) => w.shape.join('x')).join(',');
  if (shapes(src) !== shapes(dst)) {
    throw new ForgerError('E_SHAPE', `moving average: the models' weights differ ([${shapes(src)}] vs [${shapes(dst)}])`);
  }
}

/**
 * One update of `average`'s weights towards `live`'s, with the decay for update
 * number t. Both models must have the same architecture.
 */
export function updateAverage(average: tf.LayersModel, live: tf.LayersModel, decay: number, t: number): void {
  const src = live.weights;
  const dst = average.weights;
  checkPair(src, dst);
  const d = emaDecayAt(decay, t);
  tf.tidy(() => {
    dst.forEach((w, i) => {
      const shadow = w.read();
      if (shadow.dtype !== 'float32') {
        w.write(tf.clone(src[i]!.read()));
        return;
      }
      w.write(tf.add(shadow, tf.mul(tf.sub(src[i]!.read(), shadow), 1 - d)));
    });
  });
}
