/**
 * DCGAN (Radford et al. 2015; seeds 000 and 003).
 *   G: z -> dense -> reshape [b, b, w0] -> transposed convs (BN + ReLU between) -> tanh image
 *   D: image -> strided convs (LeakyReLU, BN on all but the first) -> flatten -> dense 1 (logit)
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config.ts';
import { ForgerError } from '../errors.ts';
import { convPlan, convTransposePlan, type ConvGeom } from './conv-arith.ts';
import { makeInitializers } from './init.ts';
import { batchNorm, hiddenActivation, outputActivation, type AddLayer } from './layers.ts';
import { discriminatorMinibatch } from './minibatch.ts';
import { Pack } from './pack.ts';
import { networkLayers } from './spectral-norm.ts';

function geometry(m: ModelConfig): ConvGeom {
  return { kernel: m.kernelSize, stride: m.stride, padding: m.padding };
}

/** The transposed-conv ladder base -> imageSize, checked before anything is built. */
export function generatorPlans(m: ModelConfig): ReturnType<typeof convTransposePlan>[] {
  const size = m.dataShape[0]!;
  const g = geometry(m);
  const n = m.gWidths.length;
  const plans = [];
  let s = m.baseSize;
  for (let i = 0; i < n; i++) {
    const plan = convTransposePlan(`generator convT${i + 1}`, s, g);
    plans.push(plan);
    s = plan.out;
  }
  if (s !== size) {
    const base = size / g.stride ** n;
    const hint = Number.isInteger(base) && g.kernel - 2 * g.padding === g.stride ? `use --base-size ${base}` : 'change --base-size or --g-widths';
    throw new ForgerError(
      'E_SHAPE',
      `imageSize ${size} cannot be reached by ${n} stride-${g.stride} transposed convs (k${g.kernel}, p${g.padding}) from ${m.baseSize}x${m.baseSize} (got ${s}); ${hint}`,
    );
  }
  return plans;
}

/** The strided-conv ladder imageSize -> final feature map, checked likewise. */
export function discriminatorPlans(m: ModelConfig): ReturnType<typeof convPlan>[] {
  let s = m.dataShape[0]!;
  return m.dWidths.map((_, i) => {
    const plan = convPlan(`discriminator conv${i + 1}`, s, geometry(m));
    s = plan.out;
    return plan;
  });
}

export function buildDcganGenerator(m: ModelConfig, seed: number): tf.Sequential {
  const model = tf.sequential({ name: 'generator' });
  dcganGeneratorLayers(m, seed, m.latentDim, (l) => model.add(l));
  return model;
}

/**
 * G's layers in order, handed to `add`: [inputDim] -> image. inputDim is latentDim, or
 * latentDim plus the label input for a conditional G (conditional.ts).
 */
export function dcganGeneratorLayers(m: ModelConfig, seed: number, inputDim: number, add: AddLayer): void {
  const [, , channels] = m.dataShape as [number, number, number];
  const g = geometry(m);
  const n = m.gWidths.length;
  const plans = generatorPlans(m);
  const init = makeInitializers(m.init, seed, 'init-g');
  const { dense, conv2dTranspose } = networkLayers(m, 'g', seed); // spectrally normalised with spectralNorm 'both'
  const w0 = m.gWidths[0]!;
  // [inputDim] -> [b*b*w0] -> [b, b, w0]
  add(dense({ inputShape: [inputDim], units: m.baseSize * m.baseSize * w0, kernelInitializer: init.kernel(), name: 'g_dense' }));
  if (m.gBatchNorm) add(batchNorm('g_bn0'));
  add(hiddenActivation(m.gActivation, m.leak, 'g_act0'));
  add(tf.layers.reshape({ targetShape: [m.baseSize, m.baseSize, w0], name: 'g_reshape' }));
  // Each step: [s, s, w_i] -> [s', s', w_{i+1}] (s' = (s - 1) stride - 2 pad + kernel); the last one -> [size, size, channels]
  for (let i = 0; i < n; i++) {
    const last = i === n - 1;
    const plan = plans[i]!;
    add(
      conv2dTranspose({
        filters: last ? channels : m.gWidths[i + 1]!,
        kernelSize: g.kernel,
        strides: g.stride,
        padding: plan.tfPadding,
        kernelInitializer: init.kernel(),
        name: `g_convT${i + 1}`,
      }),
    );
    if (plan.crop > 0) add(tf.layers.cropping2D({ cropping: plan.crop, name: `g_crop${i + 1}` }));
    if (last) break;
    if (m.gBatchNorm) add(batchNorm(`g_bn${i + 1}`));
    add(hiddenActivation(m.gActivation, m.leak, `g_act${i + 1}`));
  }
  add(outputActivation(m.output, 'g_out'));
}

export function buildDcganDiscriminator(m: ModelConfig, seed: number): tf.Sequential {
  const model = tf.sequential({ name: 'discriminator' });
  model.add(dcganDiscriminatorLayers(m, seed, (l) => model.add(l)));
  return model;
}

/**
 * D's layers up to its flattened features phi(x), handed to `add`; returns the logit
 * layer d_logit, [F] -> [1], not yet added (a conditional D adds its label terms beside it).
 */
export function dcganDiscriminatorLayers(m: ModelConfig, seed: number, add: AddLayer): tf.layers.Layer {
  const [size, , channels] = m.dataShape as [number, number, number];
  const g = geometry(m);
  const init = makeInitializers(m.init, seed, 'init-d');
  const { dense, conv2d } = networkLayers(m, 'd', seed); // spectrally normalised with spectralNorm 'd' or 'both'
  const plans = discriminatorPlans(m);
  // PacGAN (optional): [N, s, s, c] -> [N/pack, s, s, pack*c]
  const packed = m.pack > 1;
  if (packed) add(new Pack({ size: m.pack, inputShape: [size, size, channels], name: 'd_pack' }));
  // Each step: [s, s, c] -> [floor((s + 2p - k) / stride) + 1, ..., w_i]
  m.dWidths.forEach((width, i) => {
    const plan = plans[i]!;
    const inputShape = i === 0 && !packed ? { inputShape: [size, size, channels] } : {};
    if (plan.pad > 0) add(tf.layers.zeroPadding2d({ padding: plan.pad, name: `d_pad${i + 1}`, ...inputShape }));
    add(
      conv2d({
        filters: width,
        kernelSize: g.kernel,
        strides: g.stride,
        padding: plan.tfPadding,
        kernelInitializer: init.kernel(),
        name: `d_conv${i + 1}`,
        ...(plan.pad > 0 ? {} : inputShape),
      }),
    );
    if (m.dBatchNorm && i > 0) add(batchNorm(`d_bn${i + 1}`));
    add(tf.layers.leakyReLU({ alpha: m.leak, name: `d_act${i + 1}` }));
    if (m.dropout > 0) add(tf.layers.dropout({ rate: m.dropout, name: `d_drop${i + 1}` }));
  });
  // minibatch stddev (optional): [s, s, w_last] -> [s, s, w_last + 1], one constant channel
  const minibatch = discriminatorMinibatch(m, seed);
  if (minibatch && m.minibatch === 'stddev') add(minibatch);
  // [s, s, c] -> [s*s*c] -> [1] (a logit; sigmoid gives D(x)); c = w_last, + 1 with the stddev channel
  add(tf.layers.flatten({ name: 'd_flatten' }));
  // minibatch discrimination (optional): [s*s*c] -> [s*s*c + B]
  if (minibatch && m.minibatch === 'discrimination') add(minibatch);
  return dense({ units: 1, kernelInitializer: init.kernel(), name: 'd_logit' });
}
