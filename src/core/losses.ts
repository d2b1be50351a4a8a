/**
 * GAN losses on logits (D outputs a logit l; D(x) = sigmoid(l)). Written with
 * softplus so they stay finite where log(sigmoid) would underflow:
 *   -log D(x)       = softplus(-l)
 *   -log(1 - D(x))  = softplus(l)
 */
import * as tf from '@tensorflow/tfjs';
import type { LossName } from './config.ts';

/**
 * D: minimise -[log D(x) + log(1 - D(G(z)))], the BCE of real -> 1 and fake -> 0
 * (the same for both G losses). With one-sided label smoothing s (Salimans et al.
 * 2016) the real target is 1 - s: BCE(l, t) = t softplus(-l) + (1 - t) softplus(l).
 */
export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor, smoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const t = 1 - smoothing;
    const realTerm = smoothing === 0 ? tf.softplus(tf.neg(realLogits)) : tf.add(tf.mul(tf.softplus(tf.neg(realLogits)), t), tf.mul(tf.softplus(realLogits), 1 - t));
    return tf.add(tf.mean(realTerm), tf.mean(tf.softplus(fakeLogits))) as tf.Scalar;
  });
}

/**
 * G:
 *  - 'minimax' (Goodfellow 2014): minimise log(1 - D(G(z))) = -softplus(l). Saturates when D wins.
 *  - 'non-saturating': minimise -log D(G(z)) = softplus(-l) (seed 002's L_G).
 */
export function generatorLoss(fakeLogits: tf.Tensor, loss: LossName): tf.Scalar {
  return tf.tidy(() =>
    loss === 'minimax' ? (tf.neg(tf.mean(tf.softplus(fakeLogits))) as tf.Scalar) : (tf.mean(tf.softplus(tf.neg(fakeLogits))) as tf.Scalar),
  );
}

/** Mean D output as a probability, for the D(x) and D(G(z)) curves. */
export function meanProbability(logits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sigmoid(logits)) as tf.Scalar);
}
