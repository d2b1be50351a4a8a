/** Small layer factories shared by the architectures. Only layers that save as stock TF.js layers, so models load anywhere. */
import * as tf from '@tensorflow/tfjs';
import type { HiddenActivation, OutputActivation } from '../config.ts';
import { fusedBatchNormalization } from './batch-norm.ts';

/** Where a builder puts its layers, in order: a Sequential's add, or a functional chain (conditional.ts). */
export type AddLayer = (layer: tf.layers.Layer) => void;

/**
 * PyTorch's defaults (momentum 0.1 there = 0.9 here, eps 1e-5) rather than Keras' 0.99 / 1e-3.
 * A stock BatchNormalization with a one-node training pass (batch-norm.ts).
 */
export function batchNorm(name: string): tf.layers.Layer {
  return fusedBatchNormalization({ momentum: 0.9, epsilon: 1e-5, name });
}

export function hiddenActivation(kind: HiddenActivation, leak: number, name: string): tf.layers.Layer {
  return kind === 'relu' ? tf.layers.reLU({ name }) : tf.layers.leakyReLU({ alpha: leak, name });
}

export function outputActivation(kind: OutputActivation, name: string): tf.layers.Layer {
  return tf.layers.activation({ activation: kind, name });
}
