/**
 * The 'native' backend: TF.js's cpu backend with the heavy kernels run by Forger's
 * oneDNN addon (native-kernels.ts). Registered on demand, so that importing Forger
 * without the addon costs nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadNativeAddon, type NativeAddon } from './native-addon.ts';
import { registerActivationGradients } from './native-gradients.ts';
import { registerNativeKernels } from './native-kernels.ts';

export const NATIVE_BACKEND = 'native';

/** Register the backend if the addon loads; the reason when it does not. */
export function registerNativeBackend(): { addon: NativeAddon | null; reason: string | null } {
  const loaded = loadNativeAddon();
  if (!loaded.addon) return loaded;
  if (tf.findBackendFactory(NATIVE_BACKEND) === null) {
    // priority below cpu's and wasm's: tfjs never picks it by itself, setupBackend() does
    tf.registerBackend(NATIVE_BACKEND, () => new MathBackendCPU(), -1);
    registerNativeKernels(NATIVE_BACKEND, loaded.addon);
    registerActivationGradients();
  }
  return loaded;
}
