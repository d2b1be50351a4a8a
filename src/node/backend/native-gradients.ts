/**
 * Gradients of Relu and LeakyRelu that run as one kernel (ForgerActivationGrad) on
 * backends that register it, and exactly as TF.js's own gradients elsewhere. TF.js
 * keeps one gradient per kernel name for all backends, so the choice is made per call.
 */
import * as tf from '@tensorflow/tfjs';

/** Kernel name: dy, x -> dx; attrs op (0 relu, 1 leaky relu) and alpha. */
export const ACTIVATION_GRAD = 'ForgerActivationGrad';

let registered = false;

/** TF.js's own gradients: op 0 relu (dy * step(x)), op 1 leaky relu (x > 0 ? dy : alpha dy). */
export function activationGradOps(dy: tf.Tensor, x: tf.Tensor, op: number, alpha: number): tf.Tensor {
  return op === 0 ? tf.mul(dy, tf.cast(tf.step(x), 'float32')) : tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha));
}

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
      return { x: () => fused(g, x!, 0, 0) ?? activationGradOps(g, x!, 0, 0) };
    },
  });
  tf.registerGradient({
    kernelName: tf.LeakyRelu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const g = dy as tf.Tensor;
      const alpha = (attrs as unknown as tf.LeakyReluAttrs).alpha;
      return { x: () => fused(g, x!, 1, alpha) ?? activationGradOps(g, x!, 1, alpha) };
    },
  });
  // The kernel's own gradient, for double backprop (gradient penalties differentiate
  // grad_x D with respect to D's weights). dx = dy * s(x) with s a step function of x:
  // d(dx)/d(dy) = s(x), the same activation gradient applied to the incoming gradient;
  // d(dx)/dx = 0 (almost everywhere).
  tf.registerGradient({
    kernelName: ACTIVATION_GRAD,
    inputsToSave: ['x'],
    gradFunc: (ddx, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const g = ddx as tf.Tensor;
      const { op, alpha } = attrs as unknown as { op: number; alpha: number };
      return { dy: () => fused(g, x!, op, alpha) ?? activationGradOps(g, x!, op, alpha), x: () => tf.zerosLike(x!) };
    },
  });
}
