/**
 * Class-conditional G and D (model.conditional projection | acgan), as two-input functional
 * LayersModels around the usual MLP / DCGAN bodies (mlp.ts, dcgan.ts). The label y enters
 * as a one-hot row [K] (labels.ts), never as an index, so no gather is needed: an embedding
 * is a bias-free dense layer on the one-hot (the same lookup table), whose gradient is a
 * matMul rather than the UnsortedSegmentSum the wasm backend lacks.
 *
 *   G(z, y):  e = y W_e ([K] -> [E], or e = y when classEmbedding is 0);  G_body([z, e])
 *   projection D(x, y) (Miyato & Koyama 2018):  psi(phi(x)) + <y V, phi(x)>,  V [K, F]
 *   AC-GAN D(x) (Odena et al. 2017):  [psi(phi(x)), class logits phi(x) W_c + b_c]
 *
 * phi(x) [F] is whatever the unconditional D feeds its logit (minibatch features
 * included), and psi is that logit layer, d_logit. Only stock layers are added (Dense,
 * Concatenate, Dot, Add; SN dense with spectral norm), so tf.loadLayersModel reads the
 * saved models anywhere.
 */
import * as tf from '@tensorflow/tfjs';
import { isConditional, type ModelConfig } from '../config.ts';
import { ForgerError } from '../errors.ts';
import { Rng } from '../rng.ts';
import { dcganDiscriminatorLayers, dcganGeneratorLayers } from './dcgan.ts';
import { makeInitializers } from './init.ts';
import type { AddLayer } from './layers.ts';
import { mlpDiscriminatorLayers, mlpGeneratorLayers } from './mlp.ts';
import { networkLayers } from './spectral-norm.ts';

/** Applies layers one after another to a symbolic tensor: the functional twin of Sequential.add. */
class Chain {
  constructor(public x: tf.SymbolicTensor) {}
  readonly add: AddLayer = (layer) => {
    this.x = layer.apply(this.x) as tf.SymbolicTensor;
  };
}

/** K, checked: the builders need the number of classes fixed (resolveClasses does it from the data). */
export function classCount(m: ModelConfig): number {
  if (!isConditional(m)) throw new ForgerError('E_CONFIG', 'model.conditional is off; this model takes no labels');
  if (!Number.isInteger(m.numClasses) || m.numClasses < 2) {
    throw new ForgerError('E_CONFIG', `model.numClasses ${m.numClasses} is not a number of classes; load the data first (resolveClasses fixes it from the labels) or set it to 2 or more`);
  }
  return m.numClasses;
}

/** Width of G's label input: the embedding size, or K for the raw one-hot. */
export function labelInputDim(m: ModelConfig): number {
  return m.classEmbedding > 0 ? m.classEmbedding : classCount(m);
}

/** G(z, y): inputs z [latentDim] and one-hot y [K], output as the unconditional G. */
export function buildConditionalGenerator(m: ModelConfig, seed: number): tf.LayersModel {
  const k = classCount(m);
  const z = tf.input({ shape: [m.latentDim], name: 'g_z' });
  const y = tf.input({ shape: [k], name: 'g_y' });
  let e: tf.SymbolicTensor = y;
  if (m.classEmbedding > 0) {
    // [K] -> [E]: row y of a [K, E] table, drawn N(0, 1) as PyTorch's nn.Embedding (the scale of z)
    const rng = new Rng(seed, 'init-g-embed');
    const { dense } = networkLayers(m, 'g', seed, 'sn-g-embed');
    const table = dense({
      units: m.classEmbedding,
      useBias: false,
      kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: rng.nextUint32() % 2147483647 }),
      name: 'g_embed',
    });
    e = table.apply(y) as tf.SymbolicTensor;
  }
  // [latentDim] ++ [E or K] -> [latentDim + E] -> the usual body -> dataShape
  const chain = new Chain(tf.layers.concatenate({ axis: -1, name: 'g_concat' }).apply([z, e]) as tf.SymbolicTensor);
  const body = m.arch === 'dcgan' ? dcganGeneratorLayers : mlpGeneratorLayers;
  body(m, seed, m.latentDim + labelInputDim(m), chain.add);
  return tf.model({ inputs: [z, y], outputs: chain.x, name: 'generator' });
}

/**
 * Projection D: inputs x (dataShape) and one-hot y [K], output [1] = psi(phi(x)) + <y V, phi(x)>.
 * AC-GAN D: input x, outputs [1] (the adversarial logit) and [K] (class logits).
 */
export function buildConditionalDiscriminator(m: ModelConfig, seed: number): tf.LayersModel {
  const k = classCount(m);
  const x = tf.input({ shape: m.dataShape, name: 'd_x' });
  const chain = new Chain(x);
  const body = m.arch === 'dcgan' ? dcganDiscriminatorLayers : mlpDiscriminatorLayers;
  const logit = body(m, seed, chain.add);
  // phi(x): [F]; psi(phi(x)): [F] -> [1]
  const phi = chain.x;
  const features = phi.shape[1]!;
  const psi = logit.apply(phi) as tf.SymbolicTensor;
  // The label layers draw from their own streams, so the body and d_logit start as in the unconditional D.
  const init = makeInitializers(m.init, seed, 'init-d-cond');
  const { dense } = networkLayers(m, 'd', seed, 'sn-d-cond');
  if (m.conditional === 'acgan') {
    // [F] -> [K] class logits
    const classes = dense({ units: k, kernelInitializer: init.kernel(), name: 'd_class' }).apply(phi) as tf.SymbolicTensor;
    return tf.model({ inputs: x, outputs: [psi, classes], name: 'discriminator' });
  }
  const y = tf.input({ shape: [k], name: 'd_y' });
  // [K] -> [F]: embed(y) = y V, row y of V [K, F]
  const embed = dense({ units: features, useBias: false, kernelInitializer: init.kernel(), name: 'd_embed' }).apply(y) as tf.SymbolicTensor;
  // <embed(y), phi(x)>: [F], [F] -> [1]; + psi: [1]
  const projection = tf.layers.dot({ axes: 1, name: 'd_project' }).apply([embed, phi]) as tf.SymbolicTensor;
  const out = tf.layers.add({ name: 'd_out' }).apply([psi, projection]) as tf.SymbolicTensor;
  return tf.model({ inputs: [x, y], outputs: out, name: 'discriminator' });
}
