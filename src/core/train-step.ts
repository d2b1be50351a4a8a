/**
 * One GAN training iteration, as in the PyTorch DCGAN example and seeds 002/003:
 * dSteps discriminator updates, then one generator update, each network through
 * its own optimizer and variable list. A class-conditional GAN (models/conditional.ts)
 * passes one-hot labels beside the reals and the noise.
 */
import * as tf from '@tensorflow/tfjs';
import { diffAugment } from './augment.ts';
import type { AugmentOp, ConditionalMode, LossName } from './config.ts';
import { ForgerError } from './errors.ts';
import { generatorObjective, meanFeatures } from './feature-matching.ts';
import { addInstanceNoise } from './instance-noise.ts';
import { classLoss, discriminatorLoss, gradientPenalty, inputGradient, interpolates, meanOutput, r1Penalty } from './losses.ts';
import type { Adam } from './optim.ts';
import type { Rng } from './rng.ts';

export interface StepModels {
  generator: tf.LayersModel;
  discriminator: tf.LayersModel;
  optG: Adam;
  optD: Adam;
  loss: LossName;
  /** One-sided label smoothing of D's real target (0 = none). */
  labelSmoothing: number;
  /** Seeds the dropout masks, so runs (and resumed runs) repeat exactly. */
  dropoutRng: Rng;
  /** wgan-gp: weight lambda of the gradient penalty. @default 10 */
  gpWeight?: number;
  /** R1: gamma of (gamma / 2) E||grad_x D(x)||^2 on real samples (0 = off). @default 0 */
  r1Weight?: number;
  /** wgan-gp: draws the interpolation weights eps ~ U[0, 1), one per sample; required for wgan-gp. */
  penaltyRng?: Rng;
  /**
   * Feature matching: G's loss gets weight * L_FM on the features of `view` (featureView(D, layer):
   * D's layers with outputs [features, logit]). Absent: off. Unconditional D only.
   */
  featureMatching?: { view: tf.LayersModel; weight: number };
  /** Weight of G's adversarial loss (0: feature matching alone). @default 1 */
  adversarialWeight?: number;
  /** DiffAugment of every D input: the ops (in AUGMENT_OPS order), the data range, the parameters' stream. Absent: off. */
  augment?: { ops: readonly AugmentOp[]; range: [number, number]; rng: Rng };
  /** Instance noise of this iteration: sigma_t (see instanceNoiseSigma) and the stream of n. Absent or sigma 0: off. */
  instanceNoise?: { sigma: number; rng: Rng };
  /** Class-conditional G and D (then trainStep needs labels). @default 'off' */
  conditional?: ConditionalMode;
  /** acgan: weight of the class cross-entropy in D's and G's losses. @default 1 */
  acganWeight?: number;
}

/** One-hot labels [B, K] for a conditional step, one per D step as reals and zs. */
export interface StepLabels {
  /** The labels of each real batch. */
  real: tf.Tensor[];
  /** The labels G is asked for with each noise batch (the last one is also G's). */
  fake: tf.Tensor[];
}

/** D's outputs on a batch: the adversarial logit [B, 1], and AC-GAN's class logits [B, K]. */
interface DOutputs {
  logit: tf.Tensor;
  classLogits: tf.Tensor | null;
}

/**
 * Per-iteration numbers: losses and mean D outputs (dReal above dFake means D is winning).
 * dReal and dFake are mean sigmoid(D), a probability, for the BCE losses (minimax,
 * non-saturating), and the mean raw D output for hinge, lsgan and wgan-gp (see meanOutput).
 */
export interface StepMetrics {
  /** D's loss, penalties included */
  lossD: number;
  lossG: number;
  /** mean D(x) over the last real batch */
  dReal: number;
  /** mean D(G(z)) over the last fake batch, seen by D before its update */
  dFake: number;
}

/**
 * Run fn with the active gradient tape set aside, as if no gradient were being taken
 * (TF.js 4.22's engine keeps the tape in engine().state). The last D update runs this
 * way inside G's gradient scope: nothing it does belongs on G's tape, and leaving it
 * off spares recording D's backward pass and lets D's weights be updated in place.
 */
function outsideTape<T>(fn: () => T): T {
  const state = (tf.engine() as unknown as { state: { activeTape: unknown; gradientDepth: number } }).state;
  const { activeTape, gradientDepth } = state;
  state.activeTape = null;
  state.gradientDepth = 0;
  try {
    return fn();
  } finally {
    state.activeTape = activeTape;
    state.gradientDepth = gradientDepth;
  }
}

export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** TF.js dropout draws its mask from a seed fixed per layer; give every Dropout layer a fresh one from our stream. */
function reseedDropout(model: tf.LayersModel, rng: Rng): void {
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Dropout') (layer as unknown as { seed: number }).seed = rng.nextUint32();
  }
}

/** [features, logit] from D's feature view: one forward pass through D's layers, dropout reseeded as in discriminate(). */
function featuresAndLogits(view: tf.LayersModel, x: tf.Tensor, rng: Rng): [tf.Tensor, tf.Tensor] {
  reseedDropout(view, rng);
  return view.apply(x, { training: true }) as [tf.Tensor, tf.Tensor];
}

/**
 * What D sees of a batch x: DiffAugment(x) + sigma_t n, each part when enabled; x itself when
 * neither is. Differentiable w.r.t. x (G's gradient flows through it). Every D input goes
 * through here: reals and fakes, in D's updates and in G's, and so do the penalties, which
 * are taken on D's actual input (R1 at the augmented, noisy real; WGAN-GP between those).
 */
function dInput(s: StepModels, x: tf.Tensor): tf.Tensor {
  const aug = s.augment && s.augment.ops.length > 0 ? s.augment : null;
  const noise = s.instanceNoise && s.instanceNoise.sigma > 0 ? s.instanceNoise : null;
  if (!aug && !noise) return x;
  return tf.tidy(() => {
    const y = aug ? diffAugment(x, aug.ops, aug.range, aug.rng) : x;
    return noise ? addInstanceNoise(y, noise.sigma, noise.rng) : y;
  });
}

/** D on x in training mode; y (one-hot) is a second input only for the projection D. */
function discriminate(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor | null, mode: ConditionalMode, rng: Rng): DOutputs {
  reseedDropout(model, rng);
  const out = model.apply(mode === 'projection' ? [x, y!] : x, { training: true }) as tf.Tensor | tf.Tensor[];
  if (mode === 'acgan') {
    const [logit, classLogits] = out as tf.Tensor[];
    return { logit: logit!, classLogits: classLogits! };
  }
  return { logit: out as tf.Tensor, classLogits: null };
}

/**
 * @param reals dSteps real batches
 * @param zs dSteps noise batches; the last one is also G's. As in the PyTorch example, the
 *   last D update and the G update share one G forward pass (its output is D's fake batch
 *   and the start of G's gradient), so G's batch-norm statistics move once per iteration.
 * @param labels one-hot labels of the reals and of the fakes G is asked for (conditional only)
 * @returns a [4] tensor: lossD, lossG, dReal, dFake (one read-back for all)
 */
export function trainStep(s: StepModels, reals: tf.Tensor[], zs: tf.Tensor[], labels?: StepLabels): tf.Tensor1D {
  const { generator: G, discriminator: D, dropoutRng: rng } = s;
  const mode = s.conditional ?? 'off';
  const acganWeight = s.acganWeight ?? 1;
  if (mode !== 'off' && (labels === undefined || labels.real.length !== reals.length || labels.fake.length !== zs.length)) {
    throw new ForgerError('E_CONFIG', `trainStep: a conditional (${mode}) GAN needs one-hot labels for each real and each noise batch`);
  }
  if (mode === 'off' && labels !== undefined) throw new ForgerError('E_CONFIG', 'trainStep: labels were given to an unconditional GAN (set conditional)');
  // G(z) or G(z, y); D(x), D(x, y) or AC-GAN's D(x) with class logits
  const generate = (k: number): tf.Tensor => G.apply(mode === 'off' ? zs[k]! : [zs[k]!, labels!.fake[k]!], { training: true }) as tf.Tensor;
  const discriminateAt = (x: tf.Tensor, y: tf.Tensor | null): DOutputs => discriminate(D, x, y, mode, rng);
  const dVars = trainableVariables(D);
  const gVars = trainableVariables(G);
  // Scalars kept out of the optimizer's tidy scopes; the last D update's values are reported.
  const kept: { lossD?: tf.Scalar | null; dReal?: tf.Scalar; dFake?: tf.Scalar } = {};

  const gpWeight = s.gpWeight ?? 10;
  const r1Weight = s.r1Weight ?? 0;
  if (s.loss === 'wgan-gp' && s.penaltyRng === undefined) throw new ForgerError('E_CONFIG', 'trainStep: loss wgan-gp needs a penaltyRng for the interpolation weights');
  // The penalties differentiate the adversarial logit with respect to x only; a projection D's label is held fixed.
  const critic = (y: tf.Tensor | null) => (x: tf.Tensor): tf.Tensor => discriminateAt(x, y).logit;

  // (1) D: maximise log D(x) + log(1 - D(G(z))), i.e. minimise BCE(D(x), 1) + BCE(D(G(z)), 0)
  // (or hinge, lsgan, wgan-gp: see discriminatorLoss), plus the gradient penalties.
  // D's gradient stops at `fake`: only D's variables are differentiated.
  // The penalties take grad_x D inside this closure, so the optimizer's tape records that
  // backward pass too and differentiates through it (double backprop). Every D forward,
  // the penalties' included, goes through discriminate(), so dropout gets a fresh mask each time.
  // AC-GAN adds w CE(class logits, y) on reals and on fakes to D's loss (maximising the
  // log-likelihood of the right class, L_C in Odena et al.), and w CE on fakes to G's.
  const keptClassLogits: tf.Tensor[] = [];
  const updateD = (k: number, fakeBatch: tf.Tensor): void => {
    tf.dispose([kept.lossD ?? [], kept.dReal ?? [], kept.dFake ?? []]);
    // D's inputs (augmented, noisy when enabled), drawn outside the closure like eps.
    const real = dInput(s, reals[k]!);
    const fake = dInput(s, fakeBatch);
    const yReal = mode === 'off' ? null : labels!.real[k]!;
    const yFake = mode === 'off' ? null : labels!.fake[k]!;
    // eps ~ U[0, 1), one per sample, drawn outside the closure so the stream's use is plain.
    const eps = s.loss === 'wgan-gp' ? Float32Array.from({ length: real.shape[0]! }, () => s.penaltyRng!.next()) : null;
    const lossD = s.optD.minimize(
      () => {
        // R1 needs grad_x D(x) on the reals: take it with the forward pass that the loss uses
        // (AC-GAN's class logits of that pass are kept aside: the penalty differentiates the logit only).
        let realOut: DOutputs;
        let r1: { grad: tf.Tensor } | null = null;
        if (r1Weight > 0) {
          let classLogits = null as tf.Tensor | null; // set inside the critic
          const g = inputGradient((x) => {
            const o = discriminateAt(x, yReal);
            if (o.classLogits) classLogits = tf.keep(o.classLogits);
            return o.logit;
          }, real);
          if (classLogits) keptClassLogits.push(classLogits);
          realOut = { logit: g.logits, classLogits };
          r1 = g;
        } else {
          realOut = discriminateAt(real, yReal);
        }
        const realLogits = realOut.logit;
        const fakeOut = discriminateAt(fake, yFake);
        kept.dReal = tf.keep(meanOutput(realLogits, s.loss));
        kept.dFake = tf.keep(meanOutput(fakeOut.logit, s.loss));
        let loss = discriminatorLoss(realLogits, fakeOut.logit, s.labelSmoothing, s.loss);
        if (mode === 'acgan') {
          // + w [CE(c(x), y) + CE(c(G(z, y~)), y~)]
          const ce = tf.add(classLoss(realOut.classLogits!, yReal!), classLoss(fakeOut.classLogits!, yFake!));
          loss = tf.add(loss, tf.mul(ce, acganWeight));
        }
        if (eps) {
          // WGAN-GP: + lambda E[(||grad_x^ D(x^)||_2 - 1)^2], x^ = eps x + (1 - eps) G(z); a projection
          // D sees the labels mixed alike, y^ = eps y + (1 - eps) y~ (the point between the two pairs)
          const e = tf.tensor1d(eps);
          const yHat = mode === 'projection' ? interpolates(yReal!, yFake!, e) : null;
          const { grad } = inputGradient(critic(yHat), interpolates(real, fake, e));
          loss = tf.add(loss, gradientPenalty(grad, gpWeight));
        }
        // R1: + (gamma / 2) E||grad_x D(x)||^2
        if (r1) loss = tf.add(loss, r1Penalty(r1.grad, r1Weight));
        return loss;
      },
      true,
      dVars,
    );
    kept.lossD = lossD === null ? null : tf.keep(lossD);
    tf.dispose(keptClassLogits.splice(0));
    if (real !== reals[k]) real.dispose();
    if (fake !== fakeBatch) fake.dispose();
  };
  const last = reals.length - 1;
  for (let k = 0; k < last; k++) {
    const fake = tf.tidy(() => generate(k));
    updateD(k, fake);
    fake.dispose();
  }

  // (2) G: non-saturating, maximise log D(G(z)) (or minimax: minimise log(1 - D(G(z)));
  // hinge, wgan-gp: maximise D(G(z)); lsgan: minimise (D(G(z)) - 1)^2 / 2), through the D
  // just updated; with feature matching, times adversarialWeight, plus
  // weight * mean_k(E f(x)_k - E f(G(z))_k)^2; AC-GAN adds w CE(c(G(z, y~)), y~). G(z) is
  // computed once, under G's gradient tape; the last D update runs on it in between, off
  // that tape. Only G's variables are updated: D's weights stay as its own update left them.
  const fm = s.featureMatching && s.featureMatching.weight > 0 ? s.featureMatching : null;
  if (fm && mode !== 'off') throw new ForgerError('E_CONFIG', `trainStep: feature matching is not supported with a conditional (${mode}) D`);
  const advWeight = s.adversarialWeight ?? 1;
  const lossG = s.optG.minimize(
    () => {
      const fake = generate(last);
      outsideTape(() => updateD(last, fake));
      if (fm) {
        // E f(x) on a real batch (its own augmentation and noise), off the tape: a constant for G.
        const realMean = outsideTape(() => tf.tidy(() => meanFeatures(featuresAndLogits(fm.view, dInput(s, reals[last]!), rng)[0])));
        const [fakeFeatures, fakeLogits] = featuresAndLogits(fm.view, dInput(s, fake), rng);
        return generatorObjective(fakeLogits, s.loss, advWeight, { weight: fm.weight, realMean, fakeFeatures });
      }
      const yFake = mode === 'off' ? null : labels!.fake[last]!;
      const out = discriminateAt(dInput(s, fake), yFake);
      const loss = generatorObjective(out.logit, s.loss, advWeight, null);
      return mode === 'acgan' ? tf.add(loss, tf.mul(classLoss(out.classLogits!, yFake!), acganWeight)) : loss;
    },
    true,
    gVars,
  );

  const parts = [kept.lossD!, lossG!, kept.dReal!, kept.dFake!];
  const out = tf.tidy(() => tf.stack(parts) as tf.Tensor1D);
  tf.dispose(parts);
  return out;
}

export async function readMetrics(t: tf.Tensor1D): Promise<StepMetrics> {
  const [lossD, lossG, dReal, dFake] = Array.from(await t.data());
  t.dispose();
  return { lossD: lossD!, lossG: lossG!, dReal: dReal!, dFake: dFake! };
}
