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

/**
 * The cpu backend, remembering which value arrays it has handed out: its read() and
 * readSync() return the stored array itself (dataSync() and data() give it to the
 * caller), so a kernel may update a buffer in place only if it never left this way.
 */
export class NativeBackend extends MathBackendCPU {
  private readonly handedOut = new WeakSet<object>();

  override readSync(dataId: object): tf.backend_util.BackendValues {
    const v = super.readSync(dataId);
    if (typeof v === 'object' && v !== null) this.handedOut.add(v);
    return v;
  }

  override async read(dataId: object): Promise<tf.backend_util.BackendValues> {
    const v = await super.read(dataId);
    if (typeof v === 'object' && v !== null) this.handedOut.add(v);
    return v;
  }

  /** True when the array was given out by read()/readSync() and must not change. */
  wasHandedOut(values: object): boolean {
    return this.handedOut.has(values);
  }
}

/** Register the backend if the addon loads; the reason when it does not. */
export function registerNativeBackend(): { addon: NativeAddon | null; reason: string | null } {
  const loaded = loadNativeAddon();
  if (!loaded.addon) return loaded;
  if (tf.findBackendFactory(NATIVE_BACKEND) === null) {
    // priority below cpu's and wasm's: tfjs never picks it by itself, setupBackend() does
    tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(), -1);
    registerNativeKernels(NATIVE_BACKEND, loaded.addon);
    registerActivationGradients();
  }
  return loaded;
}
