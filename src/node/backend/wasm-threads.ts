/**
 * Threads for the TF.js wasm backend in Node.
 *
 * tfjs-backend-wasm ships a threaded SIMD build (XNNPACK on a pthread pool of
 * Emscripten workers) but turns it off in Node: it hands Emscripten the thread
 * script as a blob: URL, which Node's worker_threads cannot load. Three shims,
 * in place only while the backend starts, make it run:
 *  - the thread script's Blob URL is answered with wasm-pthread-worker.cjs, a
 *    file that runs the same script;
 *  - os.cpus() reports two entries per thread wanted: the wasm side uses half the
 *    logical cores it sees (it assumes two hardware threads per core), so on a
 *    2-core machine it would otherwise settle for one thread;
 *  - a timer keeps the event loop alive while the workers (unref'd by Emscripten)
 *    load, or Node would exit with the start-up promise still pending.
 * Element-wise kernels stay single-threaded; convolutions and matmuls (XNNPACK)
 * use every thread.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { ForgerError } from '../../core/errors.ts';

/** The package's pthread pool has 8 workers; more threads than that would be created late, on the kernel path. */
export const MAX_WASM_THREADS = 8;

const THREAD_SCRIPT = fileURLToPath(new URL('./wasm-pthread-worker.cjs', import.meta.url));

/**
 * Threads wanted: FORGER_WASM_THREADS, else one per core (at most 8). One where
 * the workers could not start: they inherit the process's Node flags, and a
 * process run as `node --input-type=module -e ...` passes a flag workers reject.
 */
export function wasmThreadsWanted(env: NodeJS.ProcessEnv = process.env, execArgv: string[] = process.execArgv): number {
  const raw = env.FORGER_WASM_THREADS;
  if (raw === undefined || raw === '') {
    if (execArgv.some((a) => a.startsWith('--input-type'))) return 1;
    return Math.max(1, Math.min(MAX_WASM_THREADS, os.availableParallelism()));
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new ForgerError('E_CONFIG', `FORGER_WASM_THREADS must be a whole number from 1 to ${MAX_WASM_THREADS}, got '${raw}'`);
  }
  return n;
}

/** Threads the running wasm backend computes with. */
export function wasmThreads(): number {
  return getThreadsCount();
}

/**
 * Run `start` (which calls tf.setBackend('wasm')) so that the backend starts with
 * `threads` threads; 1 leaves the stock single-threaded build. Gives up after
 * `timeoutMs` if the threads never report in.
 */
export async function withWasmThreads<T>(threads: number, start: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  if (threads <= 1) return start();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  URL.createObjectURL = (obj: Blob) => (obj instanceof Blob && obj.type === 'application/javascript' ? THREAD_SCRIPT : createObjectURL(obj));
  os.cpus = () => {
    const real = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]!);
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ForgerError('E_BACKEND', `wasm threads did not start within ${timeoutMs / 1000} s; set FORGER_WASM_THREADS=1 for the single-threaded build`)),
      timeoutMs,
    );
  });
  try {
    const result = await Promise.race([start(), timeout]);
    unrefThreads();
    return result;
  } finally {
    clearTimeout(timer);
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
  }
}

interface EmscriptenWorker {
  unref(): void;
}

/**
 * Emscripten ref()s a worker while a pthread runs on it, and XNNPACK's pool
 * threads run for the life of the process: without this Node would never exit.
 */
function unrefThreads(): void {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: { PThread?: { runningWorkers?: EmscriptenWorker[]; unusedWorkers?: EmscriptenWorker[] } } } | null;
  const pthread = backend?.wasm?.PThread;
  for (const w of [...(pthread?.runningWorkers ?? []), ...(pthread?.unusedWorkers ?? [])]) w.unref();
}
