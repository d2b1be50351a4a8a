/**
 * Fully connected GAN (seed 002): G z -> hidden widths -> prod(dataShape) -> reshape;
 * D flatten -> hidden widths (LeakyReLU, dropout) -> 1 logit. Also used for 2D points.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config.ts';
import { makeInitializers } from './init.ts';
import { batchNorm, hiddenActivation, outputActivation } from './layers.ts';
import { discriminatorMinibatch } from './minibatch.ts';
import { Pack } from './pack.ts';
import { networkLayers } from './spectral-norm.ts';

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

export function buildMlpGenerator(m: ModelConfig, seed: number): tf.Sequential {
  const init = makeInitializers(m.init, seed, 'init-g');
  const { dense } = networkLayers(m, 'g', seed); // spectrally normalised with spectralNorm 'both'
  const model = tf.sequential({ name: 'generator' });
  // [latentDim] -> [w_1] -> ... -> [w_n]
  m.gWidths.forEach((units, i) => {
    const inputShape = i === 0 ? { inputShape: [m.latentDim] } : {};
    model.add(dense({ units, kernelInitializer: init.kernel(), name: `g_dense${i + 1}`, ...inputShape }));
    if (m.gBatchNorm) model.add(batchNorm(`g_bn${i + 1}`));
    model.add(hiddenActivation(m.gActivation, m.leak, `g_act${i + 1}`));
  });
  // [w_n] -> [prod(dataShape)] -> dataShape
  const first = m.gWidths.length === 0 ? { inputShape: [m.latentDim] } : {};
  model.add(dense({ units: prod(m.dataShape), kernelInitializer: init.kernel(), name: 'g_dense_out', ...first }));
  model.add(outputActivation(m.output, 'g_out'));
  if (m.dataShape.length > 1) model.add(tf.layers.reshape({ targetShape: m.dataShape, name: 'g_reshape' }));
  return model;
}

export function buildMlpDiscriminator(m: ModelConfig, seed: number): tf.Sequential {
  const init = makeInitializers(m.init, seed, 'init-d');
  const { dense } = networkLayers(m, 'd', seed); // spectrally normalised with spectralNorm 'd' or 'both'
  const model = tf.sequential({ name: 'discriminator' });
  // PacGAN (optional): [N, ...dataShape] -> [N/pack, ...dataShape[:-1], pack*last]
  const packed = m.pack > 1;
  if (packed) model.add(new Pack({ size: m.pack, inputShape: m.dataShape, name: 'd_pack' }));
  // -> [prod] (images; points are flat already)
  const flat = m.dataShape.length > 1;
  if (flat) model.add(tf.layers.flatten({ ...(packed ? {} : { inputShape: m.dataShape }), name: 'd_flatten' }));
  const first = (i: number) => (i === 0 && !flat && !packed ? { inputShape: m.dataShape } : {});
  // -> [w_1] -> ... -> [w_n] -> [1] (a logit)
  m.dWidths.forEach((units, i) => {
    model.add(dense({ units, kernelInitializer: init.kernel(), name: `d_dense${i + 1}`, ...first(i) }));
    if (m.dBatchNorm) model.add(batchNorm(`d_bn${i + 1}`));
    model.add(tf.layers.leakyReLU({ alpha: m.leak, name: `d_act${i + 1}` }));
    if (m.dropout > 0) model.add(tf.layers.dropout({ rate: m.dropout, name: `d_drop${i + 1}` }));
  });
  // minibatch (optional): [w_n] -> [w_n + 1] (stddev) or [w_n + B] (discrimination)
  const minibatch = discriminatorMinibatch(m, seed, first(m.dWidths.length));
  if (minibatch) model.add(minibatch);
  model.add(dense({ units: 1, kernelInitializer: init.kernel(), name: 'd_logit', ...(minibatch ? {} : first(m.dWidths.length)) }));
  return model;
}
