/**
 * One GAN training iteration, as in the PyTorch DCGAN example and seeds 002/003:
 * dSteps discriminator updates, then one generator update, each network through
 * its own optimizer and variable list.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossName } from './config.ts';
import { discriminatorLoss, generatorLoss, meanProbability } from './losses.ts';
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
}

/** Per-iteration numbers: losses and mean D outputs (D(x) -> 1 and D(G(z)) -> 0 mean D is winning). */
export interface StepMetrics {
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

function logits(model: tf.LayersModel, x: tf.Tensor, rng: Rng): tf.Tensor {
  reseedDropout(model, rng);
  return model.apply(x, { training: true }) as tf.Tensor;
}

/**
 * @param reals dSteps real batches
 * @param zs dSteps noise batches; the last one is also G's. As in the PyTorch example, the
 *   last D update and the G update share one G forward pass (its output is D's fake batch
 *   and the start of G's gradient), so G's batch-norm statistics move once per iteration.
 * @returns a [4] tensor: lossD, lossG, dReal, dFake (one read-back for all)
 */
export function trainStep(s: StepModels, reals: tf.Tensor[], zs: tf.Tensor[]): tf.Tensor1D {
  const { generator: G, discriminator: D, dropoutRng: rng } = s;
  const dVars = trainableVariables(D);
  const gVars = trainableVariables(G);
  // Scalars kept out of the optimizer's tidy scopes; the last D update's values are reported.
  const kept: { lossD?: tf.Scalar | null; dReal?: tf.Scalar; dFake?: tf.Scalar } = {};

  // (1) D: maximise log D(x) + log(1 - D(G(z))), i.e. minimise BCE(D(x), 1) + BCE(D(G(z)), 0).
  // D's gradient stops at `fake`: only D's variables are differentiated.
  const updateD = (real: tf.Tensor, fake: tf.Tensor): void => {
    tf.dispose([kept.lossD ?? [], kept.dReal ?? [], kept.dFake ?? []]);
    const lossD = s.optD.minimize(
      () => {
        const realLogits = logits(D, real, rng);
        const fakeLogits = logits(D, fake, rng);
        kept.dReal = tf.keep(meanProbability(realLogits));
        kept.dFake = tf.keep(meanProbability(fakeLogits));
        return discriminatorLoss(realLogits, fakeLogits, s.labelSmoothing);
      },
      true,
      dVars,
    );
    kept.lossD = lossD === null ? null : tf.keep(lossD);
  };
  const last = reals.length - 1;
  for (let k = 0; k < last; k++) {
    const fake = tf.tidy(() => G.apply(zs[k]!, { training: true }) as tf.Tensor);
    updateD(reals[k]!, fake);
    fake.dispose();
  }

  // (2) G: non-saturating, maximise log D(G(z)) (or minimax: minimise log(1 - D(G(z)))),
  // through the D just updated. G(z) is computed once, under G's gradient tape; the last
  // D update runs on it in between, off that tape.
  const lossG = s.optG.minimize(
    () => {
      const fake = G.apply(zs[last]!, { training: true }) as tf.Tensor;
      outsideTape(() => updateD(reals[last]!, fake));
      return generatorLoss(logits(D, fake, rng), s.loss);
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
