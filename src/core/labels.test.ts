import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { isConditional, resolveClasses, resolveConfig } from './config.ts';
import { ImageSampler } from './data.ts';
import { ForgerError } from './errors.ts';
import type { ImageSet } from './image.ts';
import { classRows, drawLabels, listClasses, oneHot, parseClass, perClassFor } from './labels.ts';
import { Rng } from './rng.ts';

before(async () => {
  await tf.setBackend('cpu');
});

test('oneHot puts a single 1 in each row at the label; out-of-range labels are E_SHAPE', () => {
  const t = oneHot([2, 0, 1], 3);
  assert.deepEqual(t.arraySync(), [
    [0, 0, 1],
    [1, 0, 0],
    [0, 1, 0],
  ]);
  t.dispose();
  assert.throws(() => oneHot([3], 3), (e: unknown) => e instanceof ForgerError && e.code === 'E_SHAPE' && /label 3 \(sample 0\) is outside the 3 classes/.test(e.message));
});

test('drawLabels: seeded, in range, and close to uniform', () => {
  const a = drawLabels(5000, 4, new Rng(1, 'labels'));
  assert.deepEqual(a, drawLabels(5000, 4, new Rng(1, 'labels')));
  const counts = [0, 0, 0, 0];
  a.forEach((c) => counts[c]!++);
  for (const c of counts) assert.ok(Math.abs(c - 1250) < 150, `counts ${counts}`);
});

test('classRows: row r is class r, column j shares noise vector j', () => {
  const { labels, noiseIndex } = classRows(3, 2);
  assert.deepEqual(Array.from(labels), [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(Array.from(noiseIndex), [0, 1, 0, 1, 0, 1]);
  assert.equal(perClassFor(64, 10), 7);
  assert.equal(perClassFor(3, 10), 1);
});

test('parseClass takes a name (exact, then any case) or an index; a bad value names the classes', () => {
  const names = ['T-shirt/top', 'Trouser', 'Sneaker'];
  assert.equal(parseClass('Sneaker', names), 2);
  assert.equal(parseClass('sneaker', names), 2);
  assert.equal(parseClass('1', names), 1);
  // a name wins over an index
  assert.equal(parseClass('1', ['2', '1']), 1);
  assert.equal(parseClass('0', ['2', '1']), 0);
  assert.throws(
    () => parseClass('12', names, '--class'),
    (e: unknown) => e instanceof ForgerError && e.message === '--class "12" is not one of the 3 classes; use an index 0-2 or a name: 0 T-shirt/top, 1 Trouser, 2 Sneaker',
  );
  assert.throws(() => parseClass('Boot', names, '--class'), /--class "Boot" is not one of the 3 classes/);
  // numbered classes (MNIST's digits) are listed by number alone
  assert.throws(() => parseClass('x', ['0', '1', '2'], '--class'), /use an index 0-2 or a name: 0, 1, 2$/);
  assert.equal(listClasses(Array.from({ length: 20 }, (_, i) => `c${i}`), 2), '0 c0, 1 c1, ... (20 in all)');
});

test('conditional config: defaults, flags that need it, toy data refused', () => {
  const c = resolveConfig({ model: { conditional: 'projection', classEmbedding: 16 }, train: { acganWeight: 0.5 } }, 'mnist-dcgan');
  assert.deepEqual([c.model.conditional, c.model.numClasses, c.model.classNames, c.model.classEmbedding, c.train.acganWeight], ['projection', 0, [], 16, 0.5]);
  const bad: [object, string, RegExp][] = [
    [{ model: { conditional: 'cgan' } }, 'mnist-dcgan', /^model\.conditional "cgan" is invalid; use one of off, projection, acgan$/],
    [{ model: { numClasses: 10 } }, 'mnist-dcgan', /^model\.numClasses 10 is invalid; applies only to a class-conditional model/],
    [{ model: { classEmbedding: 8 } }, 'mnist-dcgan', /^model\.classEmbedding 8 is invalid; applies only to a class-conditional model/],
    [{ model: { conditional: 'acgan', numClasses: 1 } }, 'mnist-dcgan', /^model\.numClasses 1 is invalid; a conditional model needs at least 2 classes/],
    [{ model: { conditional: 'acgan', numClasses: 300 } }, 'mnist-dcgan', /^model\.numClasses 300 is invalid; expected an integer in \[0, 256\]/],
    [{ model: { conditional: 'acgan', numClasses: 3, classNames: ['a'] } }, 'mnist-dcgan', /^model\.classNames \["a"\] is invalid; expected 3 names/],
    [{ model: { conditional: 'projection' } }, 'toy-ring8', /^model\.conditional "projection" is invalid; data source ring8 has no class labels/],
    [{ train: { acganWeight: -1 } }, 'mnist-dcgan', /^train\.acganWeight -1 is invalid/],
  ];
  for (const [user, preset, re] of bad) {
    assert.throws(() => resolveConfig(user, preset), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && re.test(e.message), JSON.stringify(user));
  }
});

test('resolveClasses fixes K and the names from the data, and checks values already set', () => {
  const c = resolveConfig({ model: { conditional: 'acgan' } }, 'mnist-dcgan');
  const r = resolveClasses(c, ['a', 'b', 'c']);
  assert.deepEqual([r.model.numClasses, r.model.classNames], [3, ['a', 'b', 'c']]);
  assert.ok(Object.isFrozen(r.model.classNames));
  assert.equal(resolveClasses(r, ['a', 'b', 'c']), r);
  const isData = (re: RegExp) => (e: unknown) => e instanceof ForgerError && e.code === 'E_DATA' && re.test(e.message);
  assert.throws(() => resolveClasses(r, ['a', 'b']), isData(/model\.numClasses 3 does not match the 2 classes of the mnist data; use 0 \(from the data\) or 2/));
  assert.throws(() => resolveClasses(r, ['a', 'b', 'x']), isData(/model\.classNames \["a","b","c"\] do not match/));
  assert.throws(() => resolveClasses(c, null), isData(/needs class labels, and the mnist data has none/));
  assert.throws(() => resolveClasses(c, ['only']), isData(/needs at least 2 classes; the mnist data has 1 \(only\)/));
  const off = resolveConfig({}, 'mnist-dcgan');
  assert.equal(resolveClasses(off, ['a', 'b']), off);
  // a config saved before the option existed has no conditional key: unconditional
  const { conditional: _, ...older } = off.model;
  assert.equal(isConditional(older as typeof off.model), false);
  assert.equal(isConditional(c.model), true);
});

/** 10 one-pixel images whose pixel value is the image's index, labelled index mod 3. */
function indexedSet(): ImageSet {
  return {
    shape: [1, 1, 1],
    count: 10,
    pixels: Uint8Array.from({ length: 10 }, (_, i) => i),
    labels: Uint8Array.from({ length: 10 }, (_, i) => i % 3),
    classNames: ['a', 'b', 'c'],
  };
}

test('labels travel with their images, in the same order and state as unlabelled batches', () => {
  const labelled = new ImageSampler(indexedSet(), [0, 255], 7);
  const plain = new ImageSampler(indexedSet(), [0, 255], 7);
  assert.deepEqual(labelled.classNames, ['a', 'b', 'c']);
  // 3 batches of 4 cross the epoch boundary (10 images)
  for (let b = 0; b < 3; b++) {
    const { x, labels } = labelled.labeledBatch(4);
    const index = Array.from(x.dataSync(), Math.round);
    const y = plain.batch(4);
    assert.deepEqual(Array.from(y.dataSync(), Math.round), index, 'the same images as batch()');
    assert.deepEqual(Array.from(labels), index.map((i) => i % 3), `batch ${b}: each label is its image's`);
    tf.dispose([x, y]);
  }
  assert.deepEqual(labelled.getState(), plain.getState());
  // a restored state continues with the same labelled images
  const restored = new ImageSampler(indexedSet(), [0, 255], 7);
  restored.setState(labelled.getState());
  const a = labelled.labeledBatch(5);
  const b = restored.labeledBatch(5);
  assert.deepEqual(Array.from(a.labels), Array.from(b.labels));
  assert.deepEqual(a.x.dataSync(), b.x.dataSync());
  tf.dispose([a.x, b.x]);
  const unlabelled = new ImageSampler({ ...indexedSet(), labels: null }, [0, 255], 7);
  assert.equal(unlabelled.classNames, null);
  assert.throws(() => unlabelled.labeledBatch(2), /no class labels/);
});
