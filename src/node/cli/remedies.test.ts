/** The CLI flags of feature matching, instance noise and DiffAugment, in-process through main(). */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseValue } from './flags.ts';
import { main, type Io } from './main.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'forger-remedies-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), isTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}

const tiny = ['--preset', 'mnist-mlp', '--limit', '64', '--g-widths', '16', '--d-widths', '16,8', '--latent-dim', '8', '--batch-size', '8', '--grid-size', '4', '--backend', 'cpu'];
const remedies = ['--feature-matching', '2', '--feature-layer=-2', '--adv-weight', '0', '--instance-noise', '0.1', '--instance-noise-steps', '50', '--diff-augment', 'cutout,color'];

// A negative value needs the = form (util.parseArgs reads "-2" as an option otherwise).
test('the flags reach the config, and train and info print them', async () => {
  const out = join(root, 'run');
  const r = await cli('train', ...tiny, ...remedies, '--steps', '2', '--out', out);
  assert.equal(r.code, 0, r.err);
  const line = "remedies: feature matching weight 2 at D's hidden layer -2, alone (no adversarial loss); instance noise sigma 0.1 -> 0 over 50 steps; DiffAugment color,cutout on every D input";
  assert.ok(r.out.includes(line), r.out);
  const saved = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')).train;
  assert.deepEqual(
    [saved.featureMatching, saved.featureLayer, saved.adversarialWeight, saved.instanceNoise, saved.instanceNoiseSteps, saved.diffAugment],
    [2, -2, 0, 0.1, 50, 'cutout,color'],
  );
  const info = await cli('info', out);
  assert.equal(info.code, 0, info.err);
  assert.ok(info.out.includes(line), info.out);
  const plain = await cli('train', ...tiny, '--steps', '1', '--out', join(root, 'plain'));
  assert.doesNotMatch(plain.out, /remedies:/);
});

test('a layer name for --feature-layer, and its errors', async () => {
  assert.equal(parseValue('feature-layer', 'layer', '3'), 3);
  assert.equal(parseValue('feature-layer', 'layer', '-1'), -1);
  assert.equal(parseValue('feature-layer', 'layer', 'd_flatten'), 'd_flatten');
  const r = await cli('train', ...tiny, '--feature-matching', '1', '--feature-layer', 'd_flatten', '--steps', '1', '--out', join(root, 'named'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /feature matching weight 1 at D's layer d_flatten, with adversarial weight 1/);
  const bad = await cli('train', ...tiny, '--feature-matching', '1', '--feature-layer', '3', '--steps', '1', '--out', join(root, 'bad'));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--feature-layer 3 is invalid; D has 2 hidden layers; use 1\.\.2 or -1\.\.-2, or a layer name of D/);
  const badName = await cli('train', ...tiny, '--feature-matching', '1', '--feature-layer', 'd_logit', '--steps', '1', '--out', join(root, 'bad2'));
  assert.equal(badName.code, 2);
  assert.match(badName.err, /--feature-layer "d_logit" is invalid; .* d_flatten, d_dense1, d_act1, d_drop1, d_dense2, d_act2, d_drop2\n$/);
});

test('one-line errors: DiffAugment on points, unknown ops, --adv-weight alone', async () => {
  const points = await cli('train', '--preset', 'toy-ring8', '--diff-augment', 'translation', '--backend', 'cpu', '--out', join(root, 'p'));
  assert.equal(points.code, 2);
  assert.match(points.err, /--diff-augment "translation" is invalid; DiffAugment transforms images, and this model makes 2D points; use off\n$/);
  const unknown = await cli('train', ...tiny, '--diff-augment', 'translation,flip', '--out', join(root, 'u'));
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /--diff-augment "translation,flip" is invalid; unknown op "flip"; use off or a comma list of color, translation, cutout/);
  const adv = await cli('train', ...tiny, '--adv-weight', '0', '--out', join(root, 'a'));
  assert.equal(adv.code, 2);
  assert.match(adv.err, /--adv-weight 0 is invalid; G needs a loss/);
});
