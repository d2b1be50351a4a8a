/** Build G and D from the model part of a config. */
import type * as tf from '@tensorflow/tfjs';
import { isConditional, type ModelConfig } from '../config.ts';
import { buildConditionalDiscriminator, buildConditionalGenerator } from './conditional.ts';
import { buildDcganDiscriminator, buildDcganGenerator, discriminatorPlans, generatorPlans } from './dcgan.ts';
import { buildMlpDiscriminator, buildMlpGenerator } from './mlp.ts';

export interface GanModels {
  generator: tf.LayersModel;
  discriminator: tf.LayersModel;
}

/** G: z -> sample, or (model.conditional) [z, one-hot y] -> sample. */
export function buildGenerator(m: ModelConfig, seed: number): tf.LayersModel {
  if (isConditional(m)) return buildConditionalGenerator(m, seed);
  return m.arch === 'dcgan' ? buildDcganGenerator(m, seed) : buildMlpGenerator(m, seed);
}

/** D: x -> logit; projection: [x, one-hot y] -> logit; acgan: x -> [logit, class logits]. */
export function buildDiscriminator(m: ModelConfig, seed: number): tf.LayersModel {
  if (isConditional(m)) return buildConditionalDiscriminator(m, seed);
  return m.arch === 'dcgan' ? buildDcganDiscriminator(m, seed) : buildMlpDiscriminator(m, seed);
}

/** Both networks; D is built first so a G shape error cannot leave half a pair alive. */
export function buildModels(m: ModelConfig, seed: number): GanModels {
  const discriminator = buildDiscriminator(m, seed);
  try {
    return { generator: buildGenerator(m, seed), discriminator };
  } catch (e) {
    discriminator.dispose();
    throw e;
  }
}

export function disposeModels(models: GanModels): void {
  models.generator.dispose();
  models.discriminator.dispose();
}

/** Check the conv arithmetic of both networks without building them (throws E_SHAPE). */
export function checkArchitecture(m: ModelConfig): void {
  if (m.arch !== 'dcgan') return;
  discriminatorPlans(m);
  generatorPlans(m);
}
