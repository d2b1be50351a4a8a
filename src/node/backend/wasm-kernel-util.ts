/**
 * Helpers for the kernels Forger registers on the TF.js wasm backend: replacing
 * a stock kernel while keeping it for the cases a replacement does not handle.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { ForgerError } from '../../core/errors.ts';

const BACKEND = 'wasm';

type KernelArgs = Parameters<KernelFunc>[0];

/** Stock kernels replaced, kept so unhandled cases can run them. */
const stock = new Map<string, KernelConfig>();

/** Register `kernelFunc` for `kernelName` on wasm in place of the stock kernel (idempotent). */
export function replaceKernel(kernelName: string, kernelFunc: KernelFunc): void {
  const current = tf.getKernel(kernelName, BACKEND);
  if (current?.kernelFunc === kernelFunc) return;
  if (current !== undefined) {
    stock.set(kernelName, current);
    tf.unregisterKernel(kernelName, BACKEND);
  }
  // Keep the stock setupFunc: the engine runs it on every setBackend('wasm'), and the fallback path needs it.
  tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc: current?.setupFunc, disposeFunc: current?.disposeFunc });
}

/** Run the stock kernel a replacement stands in front of. */
export function runStock(kernelName: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  const config = stock.get(kernelName);
  if (config === undefined) throw new ForgerError('E_BACKEND', `no stock wasm kernel ${kernelName} to fall back to`);
  return config.kernelFunc(args);
}

/** The engine passes the op's tensors; anything else (a bare TensorInfo) is not ours to wrap. */
export function tensorInput(inputs: NamedTensorInfoMap, name: string, kernelName: string): tf.Tensor | null {
  const t = inputs[name];
  if (t === undefined) throw new ForgerError('E_BACKEND', `${kernelName}: input '${name}' is missing`);
  return t instanceof tf.Tensor ? t : null;
}

export function attrsOf<T>(attrs: NamedAttrMap | undefined): T {
  return attrs as unknown as T;
}
