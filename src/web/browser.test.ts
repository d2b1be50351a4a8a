/**
 * The isomorphic core in a real browser: bundle src/web/smoke.ts for the
 * browser, run the smoke GAN in headless Chromium on the cpu backend, and
 * check it against the same run in Node, number for number. The page also
 * loads a generator that Node wrote (model.json + weights.bin) with plain
 * tf.loadLayersModel. Needs /usr/bin/chromium; skipped without it (failed under CI).
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { toySampler } from '../core/data.ts';
import { Rng } from '../core/rng.ts';
import { sampleNoise } from '../core/noise.ts';
import { generate } from '../core/sample.ts';
import { GanRun } from '../core/trainer.ts';
import { saveModelFiles } from '../node/run/model-files.ts';
import { buildWebBundle } from './build.ts';
import { smokeConfig, type SmokeResult } from './smoke-config.ts';

const CHROMIUM = '/usr/bin/chromium';
const TOL = 1e-5;
const here = import.meta.dirname;

let root: string;
let server: Server | undefined;
let browser: Browser | undefined;

before(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'forger-web-'));
});

after(async () => {
  await browser?.close();
  if (server) await new Promise<void>((done) => server!.close(() => done()));
  await rm(root, { recursive: true, force: true });
});

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    assert.ok(d <= TOL, `${what}[${i}]: browser ${actual[i]}, node ${expected[i]} (|diff| ${d} > ${TOL})`);
  }
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.bin': 'application/octet-stream' };

/** Static files from `dir` on 127.0.0.1 and an ephemeral port. */
async function serve(dir: string): Promise<string> {
  server = createServer(async (req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    try {
      if (!path.startsWith(dir)) throw new Error('outside the root');
      const body = await readFile(path.endsWith('/') ? join(path, 'index.html') : path);
      res.writeHead(200, { 'content-type': TYPES[extname(path) || '.html'] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The smoke run in Node: the same steps forgerSmoke takes in the page. */
async function nodeSmoke(modelDir: string, z: Float32Array): Promise<Omit<SmokeResult, 'backend' | 'tensorsBefore' | 'tensorsAfter'>> {
  const config = smokeConfig();
  const run = new GanRun(config, toySampler('ring8', config.seed));
  try {
    await run.train({});
    await saveModelFiles(run.generator, modelDir);
    return {
      history: run.history.map(({ step, lossD, lossG, dReal, dFake }) => ({ step, lossD, lossG, dReal, dFake })),
      fixed: Array.from(run.sampleFixed()),
      loaded: Array.from(generate(run.generator, z, config.model.latentDim)),
    };
  } finally {
    run.dispose();
  }
}

test('bundling for the browser fails on a Node builtin', async () => {
  const entry = join(root, 'uses-fs.ts');
  await writeFile(entry, "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n");
  await assert.rejects(buildWebBundle(entry, join(root, 'uses-fs.js')), /node:fs/);
});

test('the core trains in Chromium as in Node, and loads a generator Node saved', { timeout: 60_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) assert.fail(`${CHROMIUM} is missing; the browser test cannot run`);
    t.skip('chromium not installed');
    return;
  }
  const site = join(root, 'site');
  await mkdir(join(site, 'generator'), { recursive: true });
  await buildWebBundle(resolve(here, 'smoke.ts'), join(site, 'smoke.js'));
  await writeFile(
    join(site, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>forger smoke</title><script type="module" src="./smoke.js"></script>\n',
  );
  const config = smokeConfig();
  const z = sampleNoise(5, config.model.latentDim, config.model.noise, new Rng(7, 'browser-test'));
  const expected = await nodeSmoke(join(site, 'generator'), z);
  const url = await serve(site);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request: ${r.url()} ${r.failure()?.errorText ?? ''}`));

  await page.goto(`${url}/`);
  await page.waitForFunction(() => typeof (globalThis as { forgerSmoke?: unknown }).forgerSmoke === 'function', undefined, { timeout: 15_000 });
  const got = await page.evaluate(
    ([modelUrl, zs]) => (globalThis as unknown as { forgerSmoke(u: string, z: number[]): Promise<SmokeResult> }).forgerSmoke(modelUrl, zs),
    [`${url}/generator/model.json`, Array.from(z)] as const,
  );

  assert.deepEqual(errors, [], 'the page logged errors');
  assert.equal(got.backend, 'cpu');
  // (a) same seed, same backend: the same losses and D outputs at every step
  assert.deepEqual(got.history.map((r) => r.step), [1, 2, 3]);
  for (const key of ['lossD', 'lossG', 'dReal', 'dFake'] as const) {
    assertClose(got.history.map((r) => r[key]), expected.history.map((r) => r[key]), key);
  }
  // (b) the same generator after training
  assertClose(got.fixed, expected.fixed, 'sampleFixed');
  // (c) training and disposing leaves no tensors behind in the page
  assert.equal(got.tensorsAfter, got.tensorsBefore, `tensors: ${got.tensorsBefore} before the run, ${got.tensorsAfter} after disposing it`);
  // (d) Node's model.json + weights.bin, loaded by plain tf.loadLayersModel, gives Node's G(z)
  assertClose(got.loaded, expected.loaded, 'G(z) from the loaded model');
});
