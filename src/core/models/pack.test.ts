/**
 * PacGAN packing: the layout of packs (points and images, against hand-made expectations),
 * D's shapes, gradients, save/load, scoring single samples, config errors, and a few
 * training steps with the penalties on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NATIVE_BACKEND, registerNativeBackend } from '../../node/backend/native.ts';
import { setupBackend } from '../../node/backend/setup.ts';
import { flagNameFor, flagsToUserConfig } from '../../node/cli/flags.ts';
import { loadModelFiles, saveModelFiles } from '../../node/run/model-files.ts';
import { relError } from '../../testing/leaks.ts';
import { stepLosses } from '../../testing/train-losses.ts';
import { resolveConfig, type UserConfig } from '../config.ts';
import { circlesSampler, toySampler } from '../data.ts';
import { ForgerError } from '../errors.ts';
import { packSize, scoreReal } from '../sample.ts';
import { GanRun } from '../trainer.ts';
import { buildDiscriminator } from './index.ts';
import { Pack, packSamples } from './pack.ts';

const loaded = registerNativeBackend();
const nativeSkip = loaded.addon === null ? `native backend unavailable: ${loaded.reason}` : false;

let dir: string;
before(async () => {
  await setupBackend('wasm');
  if (!nativeSkip) await setupBackend('native');
  await setupBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'forger-pack-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('packSamples', () => {
  test('points [4, 2] in packs of 2: consecutive samples side by side', () => {
    const out = tf.tidy(() => packSamples(tf.tensor2d(range(8), [4, 2]), 2).arraySync());
    assert.deepEqual(out, [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
  });

  test('images [4, 2, 2, 3] in packs of 2: out[k, h, w, j*C + c] = x[k*2 + j, h, w, c]', () => {
    const shape = [4, 2, 2, 3];
    const x = range(48);
    const out = tf.tidy(() => packSamples(tf.tensor(x, shape), 2));
    assert.deepEqual(out.shape, [2, 2, 2, 6]);
    const got = out.dataSync();
    for (let k = 0; k < 2; k++)
      for (let h = 0; h < 2; h++)
        for (let w = 0; w < 2; w++)
          for (let j = 0; j < 2; j++)
            for (let c = 0; c < 3; c++) {
              const want = x[(k * 2 + j) * 12 + h * 6 + w * 3 + c];
              assert.equal(got[k * 24 + h * 12 + w * 6 + j * 3 + c], want, `[${k}, ${h}, ${w}, ${j * 3 + c}]`);
            }
    out.dispose();
  });

  test('a batch that packs do not split: a clear E_SHAPE', () => {
    assert.throws(
      () => packSamples(tf.zeros([6, 2]), 4),
      (e: unknown) => e instanceof ForgerError && e.code === 'E_SHAPE' && /a batch of 6 cannot be split into packs of 4/.test(e.message),
    );
  });

  test('the layer refuses a pack of 1', () => {
    assert.throws(() => new Pack({ size: 1 }), (e: unknown) => e instanceof ForgerError && /pack size 1 is invalid/.test(e.message));
  });
});

const ARCHS: [string, string, UserConfig][] = [
  ['mlp points', 'toy-ring8', { model: { dWidths: [8, 8] } }],
  ['mlp images', 'circles-3x3', {}],
  ['dcgan', 'mnist-dcgan', { model: { dWidths: [4, 8], dBatchNorm: false } }],
];

describe('in D', () => {
  for (const [name, preset, user] of ARCHS) {
    const config = (pack: number) => resolveConfig({ ...user, model: { ...user.model, pack }, train: { batchSize: 8 } }, preset);

    test(`${name}: one output per pack of 4; D of a pack depends on each of its samples and on no other`, () => {
      const c = config(4);
      const D = buildDiscriminator(c.model, 1);
      assert.equal(D.layers[0]!.name, 'd_pack');
      assert.equal(packSize(D), 4);
      const shape = [8, ...c.model.dataShape];
      const x = tf.randomUniform(shape, -1, 1, 'float32', 3);
      const grad = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.slice(D.apply(v) as tf.Tensor, [0, 0], [1, 1])))(x));
      assert.deepEqual((D.predict(x) as tf.Tensor).shape, [2, 1]);
      // the first pack's output has a gradient w.r.t. samples 0..3 and none w.r.t. 4..7
      const per = grad.size / 8;
      const g = grad.dataSync() as Float32Array;
      for (let i = 0; i < 8; i++) {
        const norm = g.subarray(i * per, (i + 1) * per).reduce((a, v) => a + Math.abs(v), 0);
        assert.ok(i < 4 ? norm > 0 : norm === 0, `sample ${i}: |grad| ${norm}`);
      }
      tf.dispose([x, grad]);
      D.dispose();
    });

    test(`${name}: save -> load gives the same outputs; scoring a sample packs copies of it`, async () => {
      const c = config(2);
      const D = buildDiscriminator(c.model, 2);
      const path = join(dir, name.replace(' ', '-'));
      await saveModelFiles(D, path);
      const json = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
      assert.ok((json.modelTopology.config.layers as { class_name: string }[]).some((l) => l.class_name === 'ForgerPack'));
      const { model } = await loadModelFiles(path);
      const shape = [6, ...c.model.dataShape];
      const x = tf.randomUniform(shape, -1, 1, 'float32', 4);
      const out = (m: tf.LayersModel) => Array.from((m.predict(x) as tf.Tensor).dataSync());
      assert.deepEqual(out(model), out(D));
      // scoreReal(x_i) = sigmoid(D([x_i, x_i]))
      const scores = scoreReal(model, x.dataSync() as Float32Array, c.model.dataShape);
      assert.equal(scores.length, 6);
      const want = tf.tidy(() => {
        const first = tf.slice(x, [0], [1]);
        return tf.sigmoid(D.predict(tf.concat([first, first])) as tf.Tensor).dataSync()[0]!;
      });
      assert.ok(Math.abs(scores[0]! - want) < 1e-6, `${scores[0]} vs ${want}`);
      x.dispose();
      [D, model].forEach((m) => m.dispose());
    });
  }
});

describe('config and flags', () => {
  test('default 1, --pack, and one-line errors', () => {
    assert.equal(resolveConfig({}).model.pack, 1);
    assert.equal(resolveConfig(flagsToUserConfig({ pack: '4' }, {}, 'toy-ring8'), 'toy-ring8').model.pack, 4);
    assert.equal(flagNameFor('model.pack'), '--pack');
    const bad: [UserConfig, RegExp][] = [
      [{ model: { pack: 0 } }, /^model\.pack 0 is invalid; expected an integer in \[1, 64\]$/],
      [{ model: { pack: 3 }, train: { batchSize: 64 } }, /^model\.pack 3 is invalid; packs must split train\.batchSize 64 evenly/],
      [{ model: { pack: 4, minibatch: 'stddev', minibatchGroup: 4 }, train: { batchSize: 40 } }, /^model\.minibatchGroup 4 is invalid; groups must split the 10 packs of a batch \(train\.batchSize 40 \/ model\.pack 4\) evenly; use 2/],
    ];
    for (const [u, re] of bad) assert.throws(() => resolveConfig(u), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && re.test(e.message), JSON.stringify(u));
  });
});

describe('training with packs: finite, no leaks, the same numbers as cpu', () => {
  const RUNS: [string, () => ReturnType<typeof resolveConfig>, () => ConstructorParameters<typeof GanRun>[1]][] = [
    [
      'mlp pack 4, wgan-gp + R1 + minibatch stddev',
      () => resolveConfig({ model: { gWidths: [16], dWidths: [16], pack: 4, minibatch: 'stddev', minibatchGroup: 2 }, train: { steps: 4, batchSize: 16, gridSize: 8, loss: 'wgan-gp', r1Weight: 1 } }, 'toy-ring8'),
      () => toySampler('ring8', 1),
    ],
    [
      'dcgan pack 2, non-saturating',
      () =>
        resolveConfig(
          { model: { arch: 'dcgan', baseSize: 3, kernelSize: 3, stride: 1, padding: 1, gWidths: [4], dWidths: [4, 4], dBatchNorm: true, pack: 2 }, train: { steps: 4, batchSize: 16, gridSize: 8 } },
          'circles-3x3',
        ),
      () => circlesSampler([0, 1], 1),
    ],
  ];

  for (const [name, config, data] of RUNS) {
    for (const backend of ['wasm', NATIVE_BACKEND]) {
      test(`${name} on ${backend}`, { skip: backend === NATIVE_BACKEND ? nativeSkip : false }, async () => {
        const cpu = await stepLosses('cpu', config(), data());
        const got = await stepLosses(backend, config(), data());
        await tf.setBackend('cpu');
        assert.ok(relError(got, cpu) < 1e-3, `${backend} ${got} vs cpu ${cpu}`);
        assert.ok(new Set(cpu).size > 2, 'the losses move: the run trained');
      });
    }
  }
});
