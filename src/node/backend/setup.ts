/**
 * Backend choice for Node, fastest first: 'native' (the cpu backend with Forger's
 * oneDNN addon running the heavy kernels on all cores; needs the addon built at
 * install), the TF.js wasm backend (XNNPACK, SIMD, one thread per core: see
 * wasm-threads.ts) with the training kernels it lacks, or the pure-JS cpu backend.
 *
 * Two pieces of tfjs behaviour are contained here:
 *  - Emscripten's glue installs process 'uncaughtException' / 'unhandledRejection'
 *    handlers that rethrow from inside its minified source, so any later crash
 *    prints a screen of wasm glue. They are removed after start-up.
 *  - The cpu backend prints a "Hi, looks like you are running TensorFlow.js in
 *    Node.js" banner on its first write (through tfjs's warn(), muted only by the
 *    PROD flag). That first write is made here with PROD set for the moment.
 * The wasm binaries are found next to the package's own bundle (__dirname), so
 * start-up does not depend on the process cwd.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ForgerError } from '../../core/errors.ts';
import { registerWasmTrainingKernels } from './kernels.ts';
import { NATIVE_BACKEND, registerNativeBackend } from './native.ts';
import { wasmThreads, wasmThreadsWanted, withWasmThreads } from './wasm-threads.ts';

export type BackendChoice = 'auto' | 'native' | 'wasm' | 'cpu';

export interface BackendSetup {
  /** the backend now active */
  name: 'native' | 'wasm' | 'cpu';
  /** threads its heavy kernels run on (native: OpenMP; wasm: XNNPACK's pool; cpu: 1) */
  threads: number;
  /** one line on why 'auto' did not get the native backend (or wasm); null otherwise */
  note: string | null;
}

const CHOICES: readonly BackendChoice[] = ['auto', 'native', 'wasm', 'cpu'];

/**
 * Make `name` the active backend. 'auto' is native, else wasm, else cpu, with a
 * note saying why it fell back. Throws ForgerError E_BACKEND when 'native' or
 * 'wasm' was asked for and cannot start.
 */
export async function setupBackend(name: BackendChoice): Promise<BackendSetup> {
  if (!CHOICES.includes(name)) throw new ForgerError('E_CONFIG', `backend '${String(name)}' is not one of ${CHOICES.join(', ')}`);
  if (name === 'cpu') {
    await startCpu('cpu');
    return { name: 'cpu', threads: 1, note: null };
  }
  let nativeNote: string | null = null;
  if (name === 'native' || name === 'auto') {
    const { addon, reason } = registerNativeBackend();
    if (addon) {
      await startCpu(NATIVE_BACKEND);
      return { name: 'native', threads: addon.info().threads, note: null };
    }
    if (name === 'native') throw new ForgerError('E_BACKEND', `native backend unavailable: ${reason}`);
    nativeNote = `native backend unavailable: ${reason}`;
  }
  const threads = wasmThreadsWanted(); // a bad FORGER_WASM_THREADS is an error, not a reason to fall back
  try {
    await startWasm(threads);
    return { name: 'wasm', threads: wasmThreads(), note: nativeNote === null ? null : `${nativeNote}; using wasm` };
  } catch (e) {
    if (name === 'wasm') throw e;
    await startCpu('cpu');
    const why = `${e instanceof Error ? e.message : String(e)}; using cpu`;
    return { name: 'cpu', threads: 1, note: nativeNote === null ? why : `${nativeNote}; ${why}` };
  }
}

async function startWasm(threads: number): Promise<void> {
  registerWasmTrainingKernels();
  if (tf.getBackend() === 'wasm') return;
  if (!('WebAssembly' in globalThis)) throw new ForgerError('E_BACKEND', 'wasm backend failed to start: WebAssembly is not available in this runtime');
  const listenersBefore = processListeners();
  const said: string[] = [];
  const restoreConsole = captureConsole(said);
  let started = false;
  let thrown: unknown;
  try {
    started = await withWasmThreads(threads, async () => {
      const ok = await tf.setBackend('wasm');
      if (ok) await tf.ready();
      return ok;
    });
  } catch (e) {
    thrown = e;
  } finally {
    restoreConsole();
    removeListenersAddedSince(listenersBefore);
  }
  if (!started || thrown !== undefined) {
    throw new ForgerError('E_BACKEND', `wasm backend failed to start: ${failureReason(thrown, said)}`, { cause: thrown });
  }
}

/** The cpu backend, or the native one (a cpu backend underneath). */
async function startCpu(backend: 'cpu' | typeof NATIVE_BACKEND): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new ForgerError('E_BACKEND', `${backend} backend failed to start`);
  await tf.ready();
  // The banner fires on the backend's first write; make that write now, muted.
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    tf.tensor1d([0]).dispose();
  } finally {
    env.set('PROD', prod);
  }
}

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
type Listener = (...args: unknown[]) => void;
const emitter: NodeJS.EventEmitter = process;

function processListeners(): Set<Listener>[] {
  return PROCESS_EVENTS.map((event) => new Set(emitter.listeners(event) as Listener[]));
}

function removeListenersAddedSince(before: Set<Listener>[]): void {
  PROCESS_EVENTS.forEach((event, i) => {
    for (const l of emitter.listeners(event) as Listener[]) if (!before[i]!.has(l)) emitter.removeListener(event, l);
  });
}

/** tfjs reports a failed backend start only through console.warn (and Emscripten prints there too); collect it instead. */
function captureConsole(into: string[]): () => void {
  const { warn, error } = console;
  const keep = (...args: unknown[]): void => {
    into.push(args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' '));
  };
  console.warn = keep;
  console.error = keep;
  return () => {
    console.warn = warn;
    console.error = error;
  };
}

/** One line: the thrown error, else the most specific thing printed during start-up. */
function failureReason(thrown: unknown, said: string[]): string {
  const texts = thrown !== undefined ? [thrown instanceof Error ? thrown.message : String(thrown)] : [];
  const lines = [...texts, ...said]
    .flatMap((s) => s.split('\n'))
    .map((s) => s.trim())
    .filter((s) => s !== '' && !/^Initialization of backend wasm failed$/.test(s) && !s.startsWith('at '));
  const specific = lines.find((s) => /ENOENT|failed to|Aborted|CompileError|LinkError|RuntimeError/.test(s)) ?? lines[0] ?? 'unknown reason';
  return specific.length > 200 ? `${specific.slice(0, 197)}...` : specific;
}
