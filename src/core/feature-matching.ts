/**
 * Feature matching (Salimans et al. 2016, "Improved Techniques for Training GANs", 3.1):
 * G matches the mean of D's intermediate features f on real and generated data,
 *
 *   L_FM = mean_k ( E_x f(x)_k - E_z f(G(z))_k )^2
 *
 * the squared distance ||E f(x) - E f(G(z))||^2 divided by the number of features k (as the
 * authors' code takes T.mean(T.square(m1 - m2))), so a weight means the same at any layer.
 * f is read from a second view of D, a functional model with D's input and two outputs
 * [f, logit] over D's own layers: no weights are copied, and one forward pass gives both.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossName } from './config.ts';
import { ForgerError } from './errors.ts';
import { generatorLoss } from './losses.ts';

/** D's hidden layers, in order: the LeakyReLU after each dense or conv layer (d_act1, d_act2, ...). */
function hiddenLayers(D: tf.LayersModel): tf.layers.Layer[] {
  return D.layers.filter((l) => /^d_act\d+$/.test(l.name));
}

/**
 * The D layer that train.featureLayer names: k = 1..n is the k-th hidden layer, -1..-n counts
 * from the last; a string is a layer name (any layer before the logit). Throws E_CONFIG naming
 * the value and what D allows.
 */
export function resolveFeatureLayer(D: tf.LayersModel, spec: number | string): tf.layers.Layer {
  const hidden = hiddenLayers(D);
  const n = hidden.length;
  const candidates = D.layers.slice(0, -1).filter((l) => l.getClassName() !== 'InputLayer');
  const allowed = `${n > 0 ? `use 1..${n} or -1..-${n} (D's hidden layers), or` : 'D has no hidden layers; use'} a layer name of D: ${candidates.map((l) => l.name).join(', ')}`;
  const bad = () => new ForgerError('E_CONFIG', `train.featureLayer ${JSON.stringify(spec)} is invalid; ${allowed}`);
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec === 0 || Math.abs(spec) > n) throw bad();
    return hidden[spec > 0 ? spec - 1 : n + spec]!;
  }
  const layer = candidates.find((l) => l.name === spec);
  if (!layer) throw bad();
  return layer;
}

/**
 * A view of D with outputs [features, logit], sharing D's layers (and so its weights).
 * It owns nothing: dispose D, never the view (that would release D's layers).
 */
export function featureView(D: tf.LayersModel, spec: number | string): tf.LayersModel {
  const layer = resolveFeatureLayer(D, spec);
  return tf.model({ inputs: D.inputs, outputs: [layer.output as tf.SymbolicTensor, D.outputs[0]!], name: 'discriminator_features' });
}

/** E over the batch of the features, flattened: [N, ...] -> [prod(...)]. */
export function meanFeatures(features: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.reshape(features, [features.shape[0]!, -1]), 0) as tf.Tensor1D);
}

/**
 * mean_k (E f(x)_k - E f(G(z))_k)^2, from the real features' batch mean (a constant: see
 * meanFeatures) and the fake features [N, ...].
 */
export function featureMatchingLoss(realMean: tf.Tensor1D, fakeFeatures: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(realMean, meanFeatures(fakeFeatures)))) as tf.Scalar);
}

/**
 * G's loss: adversarialWeight * generatorLoss(D(G(z))) + fm.weight * L_FM. A term whose weight is 0
 * is left out altogether (adversarial weight 0: feature matching alone), and weight 1 multiplies
 * nothing, so without feature matching G's loss is generatorLoss exactly.
 */
export function generatorObjective(
  fakeLogits: tf.Tensor,
  loss: LossName,
  adversarialWeight: number,
  fm: { weight: number; realMean: tf.Tensor1D; fakeFeatures: tf.Tensor } | null,
): tf.Scalar {
  return tf.tidy(() => {
    const terms: tf.Scalar[] = [];
    if (adversarialWeight > 0) {
      const adv = generatorLoss(fakeLogits, loss);
      terms.push(adversarialWeight === 1 ? adv : (tf.mul(adv, adversarialWeight) as tf.Scalar));
    }
    if (fm && fm.weight > 0) terms.push(tf.mul(featureMatchingLoss(fm.realMean, fm.fakeFeatures), fm.weight) as tf.Scalar);
    if (terms.length === 0) throw new ForgerError('E_CONFIG', `G has no loss: adversarial weight ${adversarialWeight} and feature matching weight ${fm?.weight ?? 0}; give one of them a weight > 0`);
    return terms.length === 1 ? terms[0]! : (tf.addN(terms) as tf.Scalar);
  });
}
