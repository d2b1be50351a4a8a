/**
 * Threads for the wasm backend (wasm-threads.ts): FORGER_WASM_THREADS parsing,
 * and what setupBackend('wasm') reports in fresh Node processes. The backend is
 * started only in child processes: this process never starts wasm.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isForgerError } from '../../core/errors.ts';
import { setupBackend } from './setup.ts';
import { MAX_WASM_THREADS, wasmThreadsWanted } from './wasm-threads.ts';

const PER_CORE = Math.min(8, os.availableParallelism());

describe('wasmThreadsWanted', () => {
  test('unset or empty: one per core, at most 8', () => {
    assert.equal(MAX_WASM_THREADS, 8);
    assert.equal(wasmThreadsWanted({}), PER_CORE);
    assert.equal(wasmThreadsWanted({ FORGER_WASM_THREADS: '' }), PER_CORE);
  });

  test('a whole number from 1 to 8 is taken as is', () => {
    for (const n of [1, 2, 5, 8]) assert.equal(wasmThreadsWanted({ FORGER_WASM_THREADS: String(n) }), n);
  });

  for (const bad of ['0', '9', '1.5', 'x', '-1', '16']) {
    test(`'${bad}' is a one-line E_CONFIG error naming the value`, () => {
      assert.throws(
        () => wasmThreadsWanted({ FORGER_WASM_THREADS: bad }),
        (e: unknown) =>
          isForgerError(e) && e.code === 'E_CONFIG' && e.message.includes(`'${bad}'`) && e.message.includes('FORGER_WASM_THREADS') && !e.message.includes('\n'),
      );
    });
  }

  test('setupBackend rejects a bad FORGER_WASM_THREADS before starting wasm (no fallback to cpu)', async () => {
    const saved = process.env.FORGER_WASM_THREADS;
    process.env.FORGER_WASM_THREADS = '9';
    try {
      await assert.rejects(setupBackend('wasm'), (e: unknown) => isForgerError(e) && e.code === 'E_CONFIG' && e.message.includes("'9'"));
    } finally {
      if (saved === undefined) delete process.env.FORGER_WASM_THREADS;
      else process.env.FORGER_WASM_THREADS = saved;
    }
  });
});

/** A script that starts wasm, runs a matMul on it and prints what setupBackend said; with --exit it exits explicitly. */
const dir = mkdtempSync(join(os.tmpdir(), 'forger-wasm-threads-'));
const SCRIPT_TEXT = [
  `import * as tf from ${JSON.stringify(import.meta.resolve('@tensorflow/tfjs'))};`,
  `import { setupBackend } from ${JSON.stringify(new URL('./setup.ts', import.meta.url).href)};`,
  `const setup = await setupBackend('wasm');`,
  `const check = tf.tidy(() => tf.sum(tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]))).dataSync()[0]);`,
  `console.log(JSON.stringify({ ...setup, check }));`,
  `if (process.argv.includes('--exit')) process.exit(0);`,
].join('\n');
const script = join(dir, 'start-wasm.mjs');
writeFileSync(script, SCRIPT_TEXT);
after(() => rmSync(dir, { recursive: true, force: true }));

interface Child {
  /** exit code, or null when it had to be killed after `limitMs` */
  code: number | null;
  out: string;
  err: string;
}

/** Node with tsx, running the script with `args`, or just `args` where they hold -e. */
function child(env: Record<string, string | undefined>, args: string[], limitMs: number): Promise<Child> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), ...(args.includes('-e') ? args : [script, ...args])], {
      cwd: dir,
      env: { ...process.env, FORGER_WASM_THREADS: undefined, ...env },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += String(d)));
    p.stderr.on('data', (d: Buffer) => (err += String(d)));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      p.kill('SIGKILL');
    }, limitMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: killed ? null : code, out, err });
    });
  });
}

const parsed = (r: Child): { name: string; threads: number; note: string | null; check: number } => {
  assert.notEqual(r.out, '', `no output; stderr: ${r.err.slice(0, 500)}`);
  return JSON.parse(r.out) as { name: string; threads: number; note: string | null; check: number };
};

describe('setupBackend("wasm") in a fresh process', () => {
  test(`unset: ${PER_CORE} thread(s) (one per core, at most 8), and it computes`, async () => {
    const r = await child({}, ['--exit'], 60_000);
    assert.deepEqual(parsed(r), { name: 'wasm', threads: PER_CORE, note: null, check: 64 ** 3 });
    assert.equal(r.code, 0);
    assert.equal(r.err, '');
  });

  test('FORGER_WASM_THREADS=1: one thread', async () => {
    const r = await child({ FORGER_WASM_THREADS: '1' }, ['--exit'], 60_000);
    assert.deepEqual(parsed(r), { name: 'wasm', threads: 1, note: null, check: 64 ** 3 });
    assert.equal(r.code, 0);
  });

  test('FORGER_WASM_THREADS=0: E_CONFIG, the process fails', async () => {
    const r = await child({ FORGER_WASM_THREADS: '0' }, [], 60_000);
    assert.equal(r.out, '');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /FORGER_WASM_THREADS must be a whole number from 1 to 8, got '0'/);
    assert.match(r.err, /E_CONFIG/);
  });

  // setup.test.ts starts its children this way; the thread workers inherit the parent's execArgv.
  test('unset, in a process run as node --input-type=module -e', async () => {
    const r = await child({}, ['--input-type=module', '-e', `${SCRIPT_TEXT}\nprocess.exit(0);`], 60_000);
    // workers would inherit --input-type and die, so wasm keeps to one thread there
    assert.deepEqual(parsed(r), { name: 'wasm', threads: 1, note: null, check: 64 ** 3 });
    assert.equal(r.err, '');
  });

  // A CLI run ends by setting process.exitCode, not by process.exit(): the threads must not keep Node alive.
  for (const threads of [...new Set(['1', String(PER_CORE)])]) {
    test(`FORGER_WASM_THREADS=${threads}: the process exits on its own when its work is done`, async () => {
      const r = await child({ FORGER_WASM_THREADS: threads }, [], 20_000);
      assert.equal(parsed(r).threads, Number(threads));
      assert.equal(r.code, 0, 'still running 20 s after its last line of work (killed)');
    });
  }
});
