/**
 * GAN losses on D's raw output l (a logit for the BCE losses, where D(x) = sigmoid(l);
 * a score for hinge, lsgan and wgan-gp). The BCE losses are written with softplus so
 * they stay finite where log(sigmoid) would underflow:
 *   -log D(x)       = softplus(-l)
 *   -log(1 - D(x))  = softplus(l)
 */
import * as tf from '@tensorflow/tfjs';
import { isBceLoss, type LossName } from './config.ts';
import { ForgerError } from './errors.ts';

/**
 * D's loss, minimised over D's weights, for real outputs r = D(x) and fake f = D(G(z)):
 *  - 'minimax', 'non-saturating': -[log D(x) + log(1 - D(G(z)))], the BCE of real -> 1 and
 *    fake -> 0. With one-sided label smoothing s (Salimans et al. 2016) the real target is
 *    1 - s: BCE(l, t) = t softplus(-l) + (1 - t) softplus(l).
 *  - 'hinge' (Lim & Ye 2017, SAGAN): mean(relu(1 - r)) + mean(relu(1 + f)).
 *  - 'lsgan' (Mao et al. 2017, a = 0, b = 1): 1/2 mean((r - 1)^2) + 1/2 mean(f^2).
 *  - 'wgan-gp' (Gulrajani et al. 2017): mean(f) - mean(r); the gradient penalty is added
 *    apart (gradientPenalty), since it needs D itself, not only its outputs.
 */
export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor, smoothing = 0, loss: LossName = 'non-saturating'): tf.Scalar {
  if (smoothing !== 0 && !isBceLoss(loss)) {
    throw new ForgerError('E_CONFIG', `label smoothing ${smoothing} applies only to the BCE losses (minimax, non-saturating), not ${loss}`);
  }
  return tf.tidy(() => {
    switch (loss) {
      case 'hinge':
        return tf.add(tf.mean(tf.relu(tf.sub(1, realLogits))), tf.mean(tf.relu(tf.add(1, fakeLogits)))) as tf.Scalar;
      case 'lsgan':
        return tf.mul(tf.add(tf.mean(tf.square(tf.sub(realLogits, 1))), tf.mean(tf.square(fakeLogits))), 0.5) as tf.Scalar;
      case 'wgan-gp':
        return tf.sub(tf.mean(fakeLogits), tf.mean(realLogits)) as tf.Scalar;
      default: {
        const t = 1 - smoothing;
        const realTerm = smoothing === 0 ? tf.softplus(tf.neg(realLogits)) : tf.add(tf.mul(tf.softplus(tf.neg(realLogits)), t), tf.mul(tf.softplus(realLogits), 1 - t));
        return tf.add(tf.mean(realTerm), tf.mean(tf.softplus(fakeLogits))) as tf.Scalar;
      }
    }
  });
}

/**
 * G's loss, on f = D(G(z)):
 *  - 'minimax' (Goodfellow 2014): minimise log(1 - D(G(z))) = -softplus(l). Saturates when D wins.
 *  - 'non-saturating': minimise -log D(G(z)) = softplus(-l) (seed 002's L_G).
 *  - 'hinge', 'wgan-gp': minimise -mean(f).
 *  - 'lsgan' (c = 1): minimise 1/2 mean((f - 1)^2).
 */
export function generatorLoss(fakeLogits: tf.Tensor, loss: LossName): tf.Scalar {
  return tf.tidy(() => {
    switch (loss) {
      case 'minimax':
        return tf.neg(tf.mean(tf.softplus(fakeLogits))) as tf.Scalar;
      case 'hinge':
      case 'wgan-gp':
        return tf.neg(tf.mean(fakeLogits)) as tf.Scalar;
      case 'lsgan':
        return tf.mul(tf.mean(tf.square(tf.sub(fakeLogits, 1))), 0.5) as tf.Scalar;
      default:
        return tf.mean(tf.softplus(tf.neg(fakeLogits))) as tf.Scalar;
    }
  });
}

/**
 * AC-GAN's auxiliary loss (Odena et al. 2017): the cross-entropy of D's class logits
 * [B, K] against the one-hot labels [B, K], mean over the batch:
 *   -mean_i sum_c y_ic log softmax(l_i)_c
 * D minimises it on real and fake samples, G on its fakes (each weighted by train.acganWeight).
 */
export function classLoss(classLogits: tf.Tensor, oneHotLabels: tf.Tensor): tf.Scalar {
  if (classLogits.rank !== 2 || !tf.util.arraysEqual(classLogits.shape, oneHotLabels.shape)) {
    throw new ForgerError('E_SHAPE', `class logits [${classLogits.shape}] and one-hot labels [${oneHotLabels.shape}] must both be [batch, classes]`);
  }
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(oneHotLabels, tf.logSoftmax(classLogits)), 1))) as tf.Scalar);
}

/** Mean D output as a probability, for the D(x) and D(G(z)) curves. */
export function meanProbability(logits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sigmoid(logits)) as tf.Scalar);
}

/**
 * The number reported as dReal / dFake: for the BCE losses the mean probability
 * sigmoid(l) (0.5 = D cannot tell); for hinge, lsgan and wgan-gp, whose D outputs a
 * score rather than a logit, the mean raw output (lsgan's targets are 1 and 0; hinge's
 * margins are at +-1; a WGAN critic's scale is arbitrary, only the gap means anything).
 */
export function meanOutput(logits: tf.Tensor, loss: LossName): tf.Scalar {
  return isBceLoss(loss) ? meanProbability(logits) : tf.tidy(() => tf.mean(logits) as tf.Scalar);
}

/**
 * grad_x sum(D(x)), the per-sample input gradient [N, ...x], with D's output on x.
 * Called inside an optimizer's minimize closure, the backward pass is recorded on the
 * outer tape, so anything computed from `grad` can be differentiated again with
 * respect to D's weights (double backprop). One forward pass gives both.
 */
export function inputGradient(critic: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): { logits: tf.Tensor; grad: tf.Tensor } {
  registerComparisonGradients();
  const { value, grad } = tf.valueAndGrad(critic)(x);
  return { logits: value, grad };
}

/**
 * TF.js registers no gradient for comparisons, and its LeakyRelu gradient is
 * where(x > 0, dy, alpha dy): differentiating that again (a gradient penalty through
 * a LeakyReLU D) reaches Greater and throws. A comparison is piecewise constant, so its
 * gradient is 0 (TensorFlow marks these ops not differentiable). Registered once, only
 * where no gradient exists.
 */
function registerComparisonGradients(): void {
  for (const kernelName of [tf.Greater, tf.GreaterEqual, tf.Less, tf.LessEqual, tf.Equal, tf.NotEqual]) {
    if (tf.getGradient(kernelName) !== undefined) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, saved) => {
        const [a, b] = saved as tf.Tensor[];
        return { a: () => tf.zerosLike(a!).toFloat(), b: () => tf.zerosLike(b!).toFloat() };
      },
    });
  }
}

/** x^ = eps x + (1 - eps) x~, one eps per sample: eps is [N] and broadcast over the other axes. */
export function interpolates(real: tf.Tensor, fake: tf.Tensor, eps: tf.Tensor1D): tf.Tensor {
  return tf.tidy(() => {
    const e = tf.reshape(eps, [eps.shape[0], ...real.shape.slice(1).map(() => 1)]);
    return tf.add(fake, tf.mul(e, tf.sub(real, fake)));
  });
}

/** Squared L2 norm of each sample's gradient: [N, ...] -> [N]. */
function squaredNorms(grad: tf.Tensor): tf.Tensor {
  return tf.sum(tf.square(grad), grad.shape.slice(1).map((_, i) => i + 1));
}

/**
 * WGAN-GP's penalty, weight * mean((||g||_2 - 1)^2) for g = grad_x^ D(x^) (from inputGradient).
 * The norm is sqrt(||g||^2 + 1e-12): finite gradient where g = 0 (a dead critic),
 * and no change in float32 anywhere else.
 */
export function gradientPenalty(grad: tf.Tensor, weight: number): tf.Scalar {
  return tf.tidy(() => tf.mul(tf.mean(tf.square(tf.sub(tf.sqrt(tf.add(squaredNorms(grad), 1e-12)), 1))), weight) as tf.Scalar);
}

/** R1 (Mescheder et al. 2018), (gamma / 2) mean(||g||^2) for g = grad_x D(x) on real samples (from inputGradient). */
export function r1Penalty(grad: tf.Tensor, gamma: number): tf.Scalar {
  return tf.tidy(() => tf.mul(tf.mean(squaredNorms(grad)), gamma / 2) as tf.Scalar);
}
