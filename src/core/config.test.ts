import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULTS, PRESETS, resolveConfig, resolveSteps } from './config.ts';
import { ForgerError } from './errors.ts';

test('every preset resolves and is frozen', () => {
  for (const name of Object.keys(PRESETS)) {
    const c = resolveConfig({}, name);
    assert.equal(c.preset, name);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.model) && Object.isFrozen(c.model.gWidths));
  }
});

test('presets carry the architectures the seeds describe', () => {
  const mlp = resolveConfig({}, 'mnist-mlp').model;
  assert.deepEqual([mlp.arch, mlp.latentDim, mlp.gWidths, mlp.dWidths, mlp.dropout, mlp.output], ['mlp', 100, [256, 1024], [1024, 512], 0.3, 'sigmoid']);
  const d64 = resolveConfig({}, 'folder-dcgan64').model;
  assert.deepEqual([d64.baseSize, d64.gWidths, d64.dataShape], [4, [512, 256, 128, 64], [64, 64, 3]]);
  const t = resolveConfig({}, 'mnist-dcgan').train;
  assert.deepEqual([t.lrG, t.lrD, t.beta1], [2e-4, 2e-4, 0.5]);
});

test('user values override the preset; arrays replace', () => {
  const c = resolveConfig({ model: { gWidths: [8] }, train: { steps: 7 } }, 'mnist-mlp');
  assert.deepEqual(c.model.gWidths, [8]);
  assert.equal(c.train.steps, 7);
  assert.equal(c.model.dropout, 0.3);
  assert.deepEqual(DEFAULTS.model.gWidths, [128, 64], 'defaults untouched');
});

const bad: [string, object, RegExp][] = [
  ['unknown preset', { preset: 'nope' }, /unknown preset "nope"; use one of mnist-mlp/],
  ['unknown key', { model: { latentDims: 3 } }, /unknown config key model\.latentDims/],
  ['bad enum', { train: { loss: 'hinge2' } }, /train\.loss "hinge2" is invalid; use one of minimax, non-saturating/],
  ['negative steps', { train: { steps: -1 } }, /train\.steps -1 is invalid/],
  ['fractional batch', { train: { batchSize: 1.5 } }, /train\.batchSize 1\.5/],
  ['zero lr', { train: { lrG: 0 } }, /train\.lrG 0 is invalid; expected a number in \(0, 10\]/],
  ['channels', { model: { dataShape: [28, 28, 2] } }, /channels 2 is invalid/],
  ['points with dcgan', { data: { source: 'ring8' } }, /dcgan needs image data|data source ring8 has 2D points/],
  ['label smoothing with hinge', { train: { loss: 'hinge', labelSmoothing: 0.1 } }, /train\.labelSmoothing 0\.1 is invalid; .*BCE losses.*train\.loss hinge/],
  ['wgan-gp with batch norm in D', { train: { loss: 'wgan-gp' } }, /model\.dBatchNorm true is invalid; .*train\.loss wgan-gp.*--d-batch-norm off/],
  ['R1 with batch norm in D', { train: { r1Weight: 1 } }, /model\.dBatchNorm true is invalid; .*train\.r1Weight.*--d-batch-norm off/],
  ['negative gradient penalty weight', { model: { dBatchNorm: false }, train: { loss: 'wgan-gp', gpWeight: -1 } }, /train\.gpWeight -1 is invalid/],
];

test('the new losses and penalties resolve, with their defaults', () => {
  const c = resolveConfig({ model: { dBatchNorm: false }, train: { loss: 'wgan-gp', r1Weight: 2 } }, 'mnist-dcgan');
  assert.deepEqual([c.train.loss, c.train.gpWeight, c.train.r1Weight], ['wgan-gp', 10, 2]);
  assert.deepEqual([DEFAULTS.train.gpWeight, DEFAULTS.train.r1Weight], [10, 0]);
  for (const loss of ['hinge', 'lsgan'] as const) assert.equal(resolveConfig({ train: { loss } }, 'mnist-dcgan').train.loss, loss, 'no penalty: batch norm in D is fine');
});
for (const [name, user, re] of bad) {
  test(`rejects ${name}`, () => {
    assert.throws(
      () => resolveConfig(user, (user as { preset?: string }).preset ?? 'mnist-dcgan'),
      (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && re.test(e.message) && !e.message.includes('\n'),
    );
  });
}

test('epochs become steps once the dataset size is known', () => {
  const c = resolveConfig({ train: { epochs: 2, batchSize: 64 } }, 'mnist-dcgan');
  assert.equal(resolveSteps(c, 10000).train.steps, Math.ceil(20000 / 64));
  assert.throws(() => resolveSteps(resolveConfig({ train: { epochs: 1 } }, 'toy-ring8'), null), /use --steps N/);
});
