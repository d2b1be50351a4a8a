/**
 * Gradients of Relu and LeakyRelu that run as one kernel (ForgerActivationGrad) on
 * backends that register it, and exactly as TF.js's own gradients elsewhere. TF.js
 * keeps one gradient per kernel name for all backends, so the choice is made per call.
 */
import * as tf from '@tensorflow/tfjs';
import { ACTIVATION_GRAD } from './native-kernels.ts';

let registered = false;

export function registerActivationGradients(): void {
  if (registered) return;
  registered = true;
  const fused = (dy: tf.Tensor, x: tf.Tensor, op: number, alpha: number): tf.Tensor | null =>
    dy.dtype === 'float32' && x.dtype === 'float32' && tf.getKernel(ACTIVATION_GRAD, tf.getBackend()) !== undefined
      ? (tf.engine().runKernel(ACTIVATION_GRAD, { dy, x }, { op, alpha }) as tf.Tensor)
      : null;
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      const g = dy as tf.Tensor;
      return { x: () => fused(g, x!, 0, 0) ?? tf.mul(g, tf.cast(tf.step(x!), 'float32')) };
    },
  });
  tf.registerGradient({
    kernelName: tf.LeakyRelu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const g = dy as tf.Tensor;
      const alpha = (attrs as unknown as tf.LeakyReluAttrs).alpha;
      return { x: () => fused(g, x!, 1, alpha) ?? tf.where(tf.greater(x!, 0), g, tf.mul(g, alpha)) };
    },
  });
}
