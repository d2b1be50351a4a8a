import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { describe, test } from 'node:test';
import { isForgerError } from '../../core/errors.ts';
import { WASM_TRAINING_KERNELS } from './kernels.ts';
import { loadNativeAddon } from './native-addon.ts';
import { type BackendChoice, setupBackend } from './setup.ts';
import { wasmThreadsWanted } from './wasm-threads.ts';

const EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
const listenerCounts = (): number[] => EVENTS.map((e) => process.listenerCount(e));
const native = loadNativeAddon();
/** wasm threads with FORGER_WASM_THREADS unset (the children below run with it unset too). */
const WASM_THREADS = wasmThreadsWanted({});
/** What 'auto' gives here: native where the addon is built (CI builds it), else wasm with a note. */
const AUTO = native.addon
  ? { name: 'native', threads: native.addon.info().threads, note: null }
  : { name: 'wasm', threads: WASM_THREADS, note: `native backend unavailable: ${native.reason}; using wasm` };

interface ChildResult {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Run setupBackend(choice) in a fresh Node process whose cwd is the temp dir (not
 * the repo), optionally pointing wasm at a missing binary first, then optionally crash.
 */
function child(choice: BackendChoice, opts: { badWasmPath?: boolean; crash?: boolean; nativeOff?: boolean } = {}): Promise<ChildResult> {
  const code = [
    `import { setWasmPaths } from ${JSON.stringify(import.meta.resolve('@tensorflow/tfjs-backend-wasm'))};`,
    `import { setupBackend } from ${JSON.stringify(new URL('./setup.ts', import.meta.url).href)};`,
    opts.badWasmPath ? `setWasmPaths('/nonexistent/');` : '',
    `try { console.log(JSON.stringify(await setupBackend(${JSON.stringify(choice)}))); }`,
    `catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`,
    opts.crash ? `setTimeout(() => { throw new Error('boom after setup'); });` : '',
  ].join('\n');
  const args = ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code];
  return new Promise((resolve) => {
    const env = { ...process.env, FORGER_WASM_THREADS: undefined, ...(opts.nativeOff ? { FORGER_NATIVE: 'off' } : {}) };
    execFile(process.execPath, args, { cwd: tmpdir(), env }, (error, out, err) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, out, err });
    });
  });
}

describe('setupBackend', () => {
  test('wasm: starts, registers the training kernels, leaves no process handlers behind', async () => {
    const before = listenerCounts();
    assert.deepEqual(await setupBackend('wasm'), { name: 'wasm', threads: wasmThreadsWanted(), note: null });
    assert.equal(tf.getBackend(), 'wasm');
    for (const k of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(k, 'wasm'), `${k} registered`);
    assert.deepEqual(listenerCounts(), before);
    assert.deepEqual(await setupBackend('auto'), AUTO);
  });

  test('cpu: starts without the tfjs Node banner', async () => {
    const warned: unknown[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warned.push(...args);
    try {
      assert.deepEqual(await setupBackend('cpu'), { name: 'cpu', threads: 1, note: null });
      tf.tidy(() => tf.add(tf.ones([2]), tf.ones([2])).dataSync());
    } finally {
      console.warn = warn;
    }
    assert.equal(tf.getBackend(), 'cpu');
    assert.deepEqual(warned, []);
    await setupBackend('wasm');
  });

  test('rejects an unknown backend with E_CONFIG', async () => {
    await assert.rejects(setupBackend('webgl' as BackendChoice), (e: unknown) => isForgerError(e) && e.code === 'E_CONFIG' && /webgl/.test(e.message));
  });
});

describe('setupBackend in a fresh process outside the repo', () => {
  test('auto gets the fastest backend, prints nothing, and a later crash shows a plain stack (no wasm glue)', async () => {
    const r = await child('auto', { crash: true });
    assert.deepEqual(JSON.parse(r.out), AUTO);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /boom after setup/);
    assert.doesNotMatch(r.err, /WasmBackendModule|var Module|looks like you are running/);
    assert.ok(r.err.length < 2000, `stderr is ${r.err.length} characters`);
  });

  test('wasm that cannot start is one E_BACKEND line', async () => {
    const r = await child('wasm', { badWasmPath: true });
    const e = JSON.parse(r.out) as { code: string; message: string };
    assert.equal(e.code, 'E_BACKEND');
    assert.match(e.message, /^wasm backend failed to start: .*ENOENT/);
    assert.doesNotMatch(e.message, /\n/);
    assert.equal(r.err, '');
  });

  test('auto without the native addon gets wasm, with a one-line note', async () => {
    const r = await child('auto', { nativeOff: true });
    // the child runs as node --input-type=module -e, where wasm keeps to one thread (see wasmThreadsWanted)
    assert.deepEqual(JSON.parse(r.out), { name: 'wasm', threads: 1, note: 'native backend unavailable: FORGER_NATIVE=off is set; using wasm' });
    assert.equal(r.err, '');
  });

  test('native asked for but unavailable is one E_BACKEND line', async () => {
    const r = await child('native', { nativeOff: true });
    assert.deepEqual(JSON.parse(r.out), { code: 'E_BACKEND', message: 'native backend unavailable: FORGER_NATIVE=off is set' });
  });

  test('auto falls back to cpu with a one-line note, quietly', async () => {
    const r = await child('auto', { badWasmPath: true, nativeOff: true });
    const s = JSON.parse(r.out) as { name: string; note: string };
    assert.equal(s.name, 'cpu');
    assert.match(s.note, /^native backend unavailable: FORGER_NATIVE=off is set; wasm backend failed to start: .*; using cpu$/);
    assert.doesNotMatch(s.note, /\n/);
    assert.equal(r.err, '');
  });
});
