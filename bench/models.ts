/**
 * The three networks of the PyTorch peer (../shared/peers/torch_gan_bench.py), built
 * with Forger's own builders where Forger's presets equal them:
 *   dcgan28  = preset mnist-dcgan (G and D exactly)
 *   mlp      = preset mnist-mlp without its batch norm in G (the peer has none), else
 *              exactly; Forger's G ends in a reshape to 28x28x1 and D starts with a
 *              flatten, both free views of the 784 values
 *   dcgan64  D = preset folder-dcgan64's D. G differs: the peer has no BN after the
 *              dense layer, while Forger's builder puts one there whenever gBatchNorm
 *              is on, so buildPeerDcgan64Generator() below builds the peer's G from
 *              Forger's layer factories (same BN settings, same init).
 * PEER_PARAMS holds the PyTorch trainable-parameter counts, worked out by hand from
 * the peer's code; trainableParams() counts ours the same way (BN gamma and beta
 * count, its moving mean and variance are buffers in PyTorch, not parameters).
 */
import * as tf from '@tensorflow/tfjs';
import { resolveConfig, type ModelConfig, type ResolvedConfig } from '../src/index.ts';
import { buildDiscriminator, buildGenerator, type GanModels } from '../src/core/models/index.ts';
import { makeInitializers } from '../src/core/models/init.ts';
import { batchNorm } from '../src/core/models/layers.ts';

export const MODEL_CASES = ['dcgan28', 'mlp', 'dcgan64'] as const;
export type ModelCase = (typeof MODEL_CASES)[number];

const PRESET_OF: Record<ModelCase, string> = { dcgan28: 'mnist-dcgan', mlp: 'mnist-mlp', dcgan64: 'folder-dcgan64' };

/** PyTorch counts: Linear in*out + out, Conv/ConvT in*out*k*k + out, BatchNorm 2*C. */
export const PEER_PARAMS: Record<ModelCase, { g: number; d: number }> = {
  dcgan28: {
    // Linear 100->6272, BN1d 6272, ConvT 128->64, BN 64, ConvT 64->1
    g: 100 * 6272 + 6272 + 2 * 6272 + 128 * 64 * 16 + 64 + 2 * 64 + 64 * 1 * 16 + 1, // 778,305
    // Conv 1->64, Conv 64->128, BN 128, Linear 6272->1
    d: 1 * 64 * 16 + 64 + 64 * 128 * 16 + 128 + 2 * 128 + 6272 + 1, // 138,817
  },
  mlp: {
    g: 100 * 256 + 256 + 256 * 1024 + 1024 + 1024 * 784 + 784, // 1,092,624
    d: 784 * 1024 + 1024 + 1024 * 512 + 512 + 512 + 1, // 1,329,153
  },
  dcgan64: {
    // Linear 100->8192, ConvT 512->256, BN 256, ConvT 256->128, BN 128, ConvT 128->64, BN 64, ConvT 64->3
    g: 100 * 8192 + 8192 + (512 * 256 * 16 + 256 + 512) + (256 * 128 * 16 + 128 + 256) + (128 * 64 * 16 + 64 + 128) + 64 * 3 * 16 + 3, // 3,584,323
    // Conv 3->64, Conv 64->128 + BN, Conv 128->256 + BN, Conv 256->512 + BN, Linear 8192->1
    d: 3 * 64 * 16 + 64 + (64 * 128 * 16 + 128 + 256) + (128 * 256 * 16 + 256 + 512) + (256 * 512 * 16 + 512 + 1024) + 8192 + 1, // 2,766,529
  },
};

/** The preset's resolved config (its train part gives Adam 2e-4, 0.5, 0.999 and batch 64, as the peer). */
export function benchConfig(c: ModelCase): ResolvedConfig {
  return resolveConfig(c === 'mlp' ? { model: { gBatchNorm: false } } : {}, PRESET_OF[c]);
}

/**
 * The peer's dcgan64 G: z100 -> Dense 4*4*512 -> ReLU (no BN) -> 4 ConvT (k4 s2 p1, BN + ReLU between) -> tanh.
 * k4 s2 p1 is TF.js 'same' padding for a stride-2 transposed conv (out = 2 in).
 */
export function buildPeerDcgan64Generator(m: ModelConfig, seed: number): tf.Sequential {
  const init = makeInitializers(m.init, seed, 'init-g');
  const model = tf.sequential({ name: 'generator' });
  // [100] -> [8192] -> [4, 4, 512]
  model.add(tf.layers.dense({ inputShape: [m.latentDim], units: 4 * 4 * 512, kernelInitializer: init.kernel(), name: 'g_dense' }));
  model.add(tf.layers.reLU({ name: 'g_act0' }));
  model.add(tf.layers.reshape({ targetShape: [4, 4, 512], name: 'g_reshape' }));
  // [4, 4, 512] -> [8, 8, 256] -> [16, 16, 128] -> [32, 32, 64]
  [256, 128, 64].forEach((filters, i) => {
    model.add(tf.layers.conv2dTranspose({ filters, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init.kernel(), name: `g_convT${i + 1}` }));
    model.add(batchNorm(`g_bn${i + 1}`));
    model.add(tf.layers.reLU({ name: `g_act${i + 1}` }));
  });
  // [32, 32, 64] -> [64, 64, 3]
  model.add(tf.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init.kernel(), name: 'g_convT4' }));
  model.add(tf.layers.activation({ activation: 'tanh', name: 'g_out' }));
  return model;
}

/** G and D of a peer case. D is built first, as buildModels() does. */
export function buildBenchModels(c: ModelCase, seed: number): GanModels {
  const m = benchConfig(c).model;
  const discriminator = buildDiscriminator(m, seed);
  const generator = c === 'dcgan64' ? buildPeerDcgan64Generator(m, seed) : buildGenerator(m, seed);
  return { generator, discriminator };
}

/** What PyTorch's sum(p.numel() for p in m.parameters()) counts: the trainable weights. */
export function trainableParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
