/**
 * Fully connected GAN (seed 002): G z -> hidden widths -> prod(dataShape) -> reshape;
 * D flatten -> hidden widths (LeakyReLU, dropout) -> 1 logit. Also used for 2D points.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config.ts';
import { makeInitializers } from './init.ts';
import { batchNorm, hiddenActivation, outputActivation, type AddLayer } from './layers.ts';
import { discriminatorMinibatch } from './minibatch.ts';
import { Pack } from './pack.ts';
import { networkLayers } from './spectral-norm.ts';

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

export function buildMlpGenerator(m: ModelConfig, seed: number): tf.Sequential {
  const model = tf.sequential({ name: 'generator' });
  mlpGeneratorLayers(m, seed, m.latentDim, (l) => model.add(l));
  return model;
}

/**
 * G's layers in order, handed to `add`: [inputDim] -> ... -> dataShape. inputDim is
 * latentDim, or latentDim plus the label input for a conditional G (conditional.ts).
 */
export function mlpGeneratorLayers(m: ModelConfig, seed: number, inputDim: number, add: AddLayer): void {
  const init = makeInitializers(m.init, seed, 'init-g');
  const { dense } = networkLayers(m, 'g', seed); // spectrally normalised with spectralNorm 'both'
  // [inputDim] -> [w_1] -> ... -> [w_n]
  m.gWidths.forEach((units, i) => {
    const inputShape = i === 0 ? { inputShape: [inputDim] } : {};
    add(dense({ units, kernelInitializer: init.kernel(), name: `g_dense${i + 1}`, ...inputShape }));
    if (m.gBatchNorm) add(batchNorm(`g_bn${i + 1}`));
    add(hiddenActivation(m.gActivation, m.leak, `g_act${i + 1}`));
  });
  // [w_n] -> [prod(dataShape)] -> dataShape
  const first = m.gWidths.length === 0 ? { inputShape: [inputDim] } : {};
  add(dense({ units: prod(m.dataShape), kernelInitializer: init.kernel(), name: 'g_dense_out', ...first }));
  add(outputActivation(m.output, 'g_out'));
  if (m.dataShape.length > 1) add(tf.layers.reshape({ targetShape: m.dataShape, name: 'g_reshape' }));
}

export function buildMlpDiscriminator(m: ModelConfig, seed: number): tf.Sequential {
  const model = tf.sequential({ name: 'discriminator' });
  model.add(mlpDiscriminatorLayers(m, seed, (l) => model.add(l)));
  return model;
}

/**
 * D's layers up to its features phi(x), handed to `add`; returns the logit layer
 * d_logit, [F] -> [1], not yet added (a conditional D adds its label terms beside it).
 */
export function mlpDiscriminatorLayers(m: ModelConfig, seed: number, add: AddLayer): tf.layers.Layer {
  const init = makeInitializers(m.init, seed, 'init-d');
  const { dense } = networkLayers(m, 'd', seed); // spectrally normalised with spectralNorm 'd' or 'both'
  // PacGAN (optional): [N, ...dataShape] -> [N/pack, ...dataShape[:-1], pack*last]
  const packed = m.pack > 1;
  if (packed) add(new Pack({ size: m.pack, inputShape: m.dataShape, name: 'd_pack' }));
  // -> [prod] (images; points are flat already)
  const flat = m.dataShape.length > 1;
  if (flat) add(tf.layers.flatten({ ...(packed ? {} : { inputShape: m.dataShape }), name: 'd_flatten' }));
  const first = (i: number) => (i === 0 && !flat && !packed ? { inputShape: m.dataShape } : {});
  // -> [w_1] -> ... -> [w_n] -> [1] (a logit)
  m.dWidths.forEach((units, i) => {
    add(dense({ units, kernelInitializer: init.kernel(), name: `d_dense${i + 1}`, ...first(i) }));
    if (m.dBatchNorm) add(batchNorm(`d_bn${i + 1}`));
    add(tf.layers.leakyReLU({ alpha: m.leak, name: `d_act${i + 1}` }));
    if (m.dropout > 0) add(tf.layers.dropout({ rate: m.dropout, name: `d_drop${i + 1}` }));
  });
  // minibatch (optional): [w_n] -> [w_n + 1] (stddev) or [w_n + B] (discrimination)
  const minibatch = discriminatorMinibatch(m, seed, first(m.dWidths.length));
  if (minibatch) add(minibatch);
  return dense({ units: 1, kernelInitializer: init.kernel(), name: 'd_logit', ...(minibatch ? {} : first(m.dWidths.length)) });
}
