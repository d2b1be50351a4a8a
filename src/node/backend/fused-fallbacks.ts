/**
 * Forger's own kernels (fused Adam, training batch norm, activation gradients) as
 * the composite tf ops the core runs where no backend provides them. A backend's
 * kernel that declines a call (a dtype or shape it does not handle) runs these.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, NamedTensorInfoMap } from '@tensorflow/tfjs';
import { bnGradOps, bnTrainOps, BN_GRAD_KERNEL, BN_TRAIN_KERNEL } from '../../core/models/batch-norm.ts';
import { adamOps, FUSED_ADAM, type FusedAdamAttrs } from '../../core/optim.ts';
import { ForgerError } from '../../core/errors.ts';
import { ACTIVATION_GRAD, activationGradOps } from './native-gradients.ts';

/** The engine passes the op's own tensors to a kernel; a bare TensorInfo cannot feed tf ops. */
function tensors(kernelName: string, inputs: NamedTensorInfoMap, names: string[]): tf.Tensor[] {
  return names.map((n) => {
    const t = inputs[n];
    if (!(t instanceof tf.Tensor)) throw new ForgerError('E_BACKEND', `${kernelName}: input '${n}' is not a tensor`);
    return t;
  });
}

export const FUSED_FALLBACKS: Record<string, KernelFunc> = {
  [BN_TRAIN_KERNEL]: ({ inputs, attrs = {} }) => {
    const [x, gamma, beta] = tensors(BN_TRAIN_KERNEL, inputs, ['x', 'gamma', 'beta']);
    return tf.tidy(() => bnTrainOps(x!, gamma!, beta!, attrs['epsilon'] as number));
  },
  [BN_GRAD_KERNEL]: ({ inputs, attrs = {} }) => {
    const [dy, x, mean, variance, gamma] = tensors(BN_GRAD_KERNEL, inputs, ['dy', 'x', 'mean', 'variance', 'gamma']);
    return tf.tidy(() => bnGradOps(dy!, x!, mean!, variance!, gamma!, attrs['epsilon'] as number));
  },
  [ACTIVATION_GRAD]: ({ inputs, attrs = {} }) => {
    const [dy, x] = tensors(ACTIVATION_GRAD, inputs, ['dy', 'x']);
    return tf.tidy(() => activationGradOps(dy!, x!, attrs['op'] as number, (attrs['alpha'] as number | undefined) ?? 0));
  },
  [FUSED_ADAM]: ({ inputs, attrs = {} }) => {
    const [param, m, v, grad] = tensors(FUSED_ADAM, inputs, ['param', 'm', 'v', 'grad']);
    return tf.tidy(() => adamOps(param!, m!, v!, grad!, attrs as unknown as FusedAdamAttrs));
  },
};
