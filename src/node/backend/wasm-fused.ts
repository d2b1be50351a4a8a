/**
 * Two of Forger's own kernels on the wasm backend:
 *  - ForgerActivationGrad (the Relu and LeakyRelu gradients, native-gradients.ts)
 *    as two fast XNNPACK-backed ops instead of TF.js's three, two of them scalar;
 *  - ForgerFusedAdam (core/optim.ts) as one JS loop over the wasm heap instead
 *    of ~12 ops per variable.
 * (Batch norm's training pass is left to its composite ops: on wasm those are
 * XNNPACK-backed and beat a JS loop over the heap by 2-3x.)
 *
 * Each declines (returns null: the caller runs the composite ops) for anything
 * but float32 inputs of matching sizes. Views of the heap are taken after every
 * allocation, since an allocation can grow (and so replace) the wasm memory.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { FUSED_ADAM } from '../../core/optim.ts';
import { FUSED_FALLBACKS } from './fused-fallbacks.ts';
import { ACTIVATION_GRAD } from './native-gradients.ts';

type Args = { inputs: NamedTensorInfoMap; attrs: NamedAttrMap; backend: BackendWasm };
type Impl = (args: Args) => TensorInfo | TensorInfo[] | null;

function f32(backend: BackendWasm, t: TensorInfo | undefined): Float32Array | null {
  return t !== undefined && t.dtype === 'float32' ? (backend.typedArrayFromHeap(t) as Float32Array) : null;
}

function allF32(backend: BackendWasm, ts: (TensorInfo | undefined)[]): Float32Array[] | null {
  const views = ts.map((t) => f32(backend, t));
  return views.every((v) => v !== null) ? (views as Float32Array[]) : null;
}

/**
 * dy * step(x, alpha): step is one XNNPACK-speed pass where TF.js's gradients use
 * greater and select, scalar loops 20x slower. Relu (alpha 0) matches TF.js exactly;
 * for leaky relu a NaN x gives NaN where TF.js gives alpha * dy.
 */
const activationGrad: Impl = ({ inputs, attrs }) => {
  const { dy, x } = inputs;
  if (!(dy instanceof tf.Tensor) || !(x instanceof tf.Tensor) || dy.dtype !== 'float32' || x.dtype !== 'float32' || dy.size !== x.size) return null;
  const alpha = attrs['op'] === 0 ? 0 : ((attrs['alpha'] as number | undefined) ?? 0);
  return tf.tidy(() => tf.mul(dy, tf.step(x, alpha)));
};

/**
 * One Adam step, written to three new tensors. Never in place: the wasm backend's
 * matmul and conv kernels cache XNNPACK operators, with the weights packed, per
 * weight tensor id, so a weight changed under the same id would be used stale.
 */
const fusedAdam: Impl = ({ inputs, attrs, backend }) => {
  const { param, m, v, grad } = inputs;
  const probe = allF32(backend, [param, m, v, grad]);
  if (probe === null || probe.some((a) => a.length !== probe[0]!.length)) return null;
  const { lrOverC1, c2, beta1, beta2, epsilon } = attrs as Record<string, number>;
  const outs = [backend.makeOutput(param!.shape, 'float32'), backend.makeOutput(param!.shape, 'float32'), backend.makeOutput(param!.shape, 'float32')];
  const [pv, mv, vv, gv, np, nm, nv] = allF32(backend, [param, m, v, grad, ...outs])!;
  const a1 = 1 - beta1!;
  const a2 = 1 - beta2!;
  for (let i = 0; i < pv!.length; i++) {
    const g = gv![i]!;
    const mi = beta1! * mv![i]! + a1 * g;
    const vi = beta2! * vv![i]! + a2 * g * g;
    nm![i] = mi;
    nv![i] = vi;
    np![i] = pv![i]! - (lrOverC1! * mi) / (Math.sqrt(vi) / c2! + epsilon!);
  }
  return outs;
};

const FUSED: Record<string, Impl> = {
  [ACTIVATION_GRAD]: activationGrad,
  [FUSED_ADAM]: fusedAdam,
};

/** The kernel names registerWasmFusedKernels() provides on wasm. */
export const WASM_FUSED_KERNELS = Object.keys(FUSED);

/**
 * Register the kernels above for 'wasm' (once). Where one declines, the kernel
 * runs the composite ops the core would have run without it.
 */
export function registerWasmFusedKernels(): void {
  for (const [kernelName, impl] of Object.entries(FUSED)) {
    if (tf.getKernel(kernelName, 'wasm') !== undefined) continue;
    const fallback = FUSED_FALLBACKS[kernelName];
    const kernelFunc: KernelFunc = (args) => impl(args as unknown as Args) ?? fallback!(args);
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}
