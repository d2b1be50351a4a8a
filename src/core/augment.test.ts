import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { dInputChanges } from '../testing/d-inputs.ts';
import { expectNoLeaks, relError } from '../testing/leaks.ts';
import { applyAugment, cutoutSize, diffAugment, drawAugmentParams, maxShift, type AugmentParams } from './augment.ts';
import { AUGMENT_OPS, parseAugmentList, resolveConfig } from './config.ts';
import { ForgerError } from './errors.ts';
import { Rng } from './rng.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (got: ArrayLike<number>, want: number[], tol = 1e-6) => {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < tol, `at ${i}: ${Array.from(got)} vs ${want}`);
};

/** The 4x4 grayscale image 1..16, row by row. */
const IMG = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i + 1), [1, 4, 4, 1]);

test('translation moves the content by (dy, dx) with zero fill, by hand', () => {
  const p: AugmentParams = { translation: { dy: Int32Array.of(1), dx: Int32Array.of(-1) } };
  // down one row, left one column
  assert.deepEqual(Array.from(applyAugment(IMG, p).dataSync()), [0, 0, 0, 0, 2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0]);
  const up = applyAugment(IMG, { translation: { dy: Int32Array.of(-2), dx: Int32Array.of(2) } });
  assert.deepEqual(Array.from(up.dataSync()), [0, 0, 9, 10, 0, 0, 13, 14, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test('translation: per sample and per channel, out[n, i, j, c] = x[n, i - dy, j - dx, c]', () => {
  const [n, h, c] = [3, 5, 2];
  const x = Float32Array.from({ length: n * h * h * c }, (_, i) => i + 1);
  const dy = Int32Array.of(0, 2, -1);
  const dx = Int32Array.of(1, -2, 0);
  const got = applyAugment(tf.tensor4d(x, [n, h, h, c]), { translation: { dy, dx } }).dataSync();
  const want: number[] = [];
  for (let s = 0; s < n; s++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < h; j++)
        for (let k = 0; k < c; k++) {
          const [si, sj] = [i - dy[s]!, j - dx[s]!];
          want.push(si >= 0 && si < h && sj >= 0 && sj < h ? x[((s * h + si) * h + sj) * c + k]! : 0);
        }
  assert.deepEqual(Array.from(got), want);
});

test('cutout zeros the drawn square, clipped at the edges, by hand', () => {
  const inside = applyAugment(IMG, { cutout: { y0: Int32Array.of(1), x0: Int32Array.of(2), size: 2 } });
  assert.deepEqual(Array.from(inside.dataSync()), [1, 2, 3, 4, 5, 6, 0, 0, 9, 10, 0, 0, 13, 14, 15, 16]);
  const corner = applyAugment(IMG, { cutout: { y0: Int32Array.of(-1), x0: Int32Array.of(3), size: 2 } });
  assert.deepEqual(Array.from(corner.dataSync()), [1, 2, 3, 0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
});

test('color: brightness, saturation and contrast formulas, by hand', () => {
  // one RGB pixel (0.2, 0.4, 0.9): + 0.1 -> (0.3, 0.5, 1.0); saturation 0.5 around the pixel mean 0.6
  // -> (0.45, 0.55, 0.8); contrast 2 around the image mean (the same pixel, 0.6) -> (0.3, 0.5, 1.0)
  const rgb = tf.tensor4d([0.2, 0.4, 0.9], [1, 1, 1, 3]);
  const color = (b: number, s: number, c: number) => ({ color: { brightness: Float32Array.of(b), saturation: Float32Array.of(s), contrast: Float32Array.of(c) } });
  close(applyAugment(rgb, color(0.1, 1, 1)).dataSync(), [0.3, 0.5, 1.0]);
  close(applyAugment(rgb, color(0, 0.5, 1)).dataSync(), [0.35, 0.45, 0.7]); // around 0.5
  close(applyAugment(rgb, color(0.1, 0.5, 2)).dataSync(), [0.3, 0.5, 1.0]);
  close(applyAugment(rgb, color(0, 0, 1)).dataSync(), [0.5, 0.5, 0.5]); // saturation 0: grey
  // two grey pixels 0 and 1: saturation is the identity (one channel); contrast 1.5 around 0.5
  const grey = tf.tensor4d([0, 1], [1, 1, 2, 1]);
  close(applyAugment(grey, color(0, 1.7, 1.5)).dataSync(), [-0.25, 1.25]);
});

test('the ops compose: color, then translation, then cutout', () => {
  const p: AugmentParams = {
    color: { brightness: Float32Array.of(1), saturation: Float32Array.of(1), contrast: Float32Array.of(1) },
    translation: { dy: Int32Array.of(0), dx: Int32Array.of(1) },
    cutout: { y0: Int32Array.of(0), x0: Int32Array.of(1), size: 1 },
  };
  // + 1 everywhere, right one column (zero fill after the brightness shift), then (0, 1) zeroed
  assert.deepEqual(Array.from(applyAugment(IMG, p).dataSync()), [0, 0, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0, 14, 15, 16]);
});

test('drawn parameters stay in the paper ranges, scaled to the data range, and cover them', () => {
  const rng = new Rng(1, 'augment.test');
  const n = 4000;
  const size = 28;
  const p = drawAugmentParams(AUGMENT_OPS, n, size, [-1, 1], rng);
  const span = (a: ArrayLike<number>): [number, number] => [Math.min(...Array.from(a)), Math.max(...Array.from(a))];
  const [bLo, bHi] = span(p.color!.brightness);
  assert.ok(bLo >= -0.5 && bLo < -0.49 && bHi < 0.5 && bHi > 0.49, `brightness ${bLo}..${bHi}`);
  const [sLo, sHi] = span(p.color!.saturation);
  assert.ok(sLo >= 0 && sLo < 0.01 && sHi < 2 && sHi > 1.99);
  const [cLo, cHi] = span(p.color!.contrast);
  assert.ok(cLo >= 0.5 && cLo < 0.51 && cHi < 1.5 && cHi > 1.49);
  assert.equal(maxShift(size), 4); // round(28 / 8)
  assert.deepEqual(span(p.translation!.dy), [-4, 4]);
  assert.deepEqual(span(p.translation!.dx), [-4, 4]);
  assert.equal(p.cutout!.size, 14);
  // centre uniform in [0, 28], corner = centre - 7
  assert.deepEqual(span(p.cutout!.y0), [-7, 21]);
  assert.deepEqual(span(p.cutout!.x0), [-7, 21]);
  assert.deepEqual([cutoutSize(3), maxShift(3), cutoutSize(64), maxShift(64)], [2, 0, 32, 8]);
  // [0, 1] data (sigmoid): brightness U(-0.25, 0.25)
  const q = drawAugmentParams(['color'], n, size, [0, 1], new Rng(2));
  const [qLo, qHi] = span(q.color!.brightness);
  assert.ok(qLo >= -0.25 && qLo < -0.24 && qHi < 0.25 && qHi > 0.24);
  assert.equal(q.translation, undefined);
  assert.equal(q.cutout, undefined);
});

test('diffAugment draws fresh parameters per call from its stream, and repeats from the same state', () => {
  const x = tf.randomUniform([2, 8, 8, 1], -1, 1, 'float32', 3);
  const rng = new Rng(5, 'augment');
  const a = diffAugment(x, AUGMENT_OPS, [-1, 1], rng).dataSync();
  const b = diffAugment(x, AUGMENT_OPS, [-1, 1], rng).dataSync();
  assert.notDeepEqual(Array.from(a), Array.from(b));
  assert.deepEqual(Array.from(diffAugment(x, AUGMENT_OPS, [-1, 1], new Rng(5, 'augment')).dataSync()), Array.from(a));
});

test('the gradient w.r.t. the image exists and matches central differences', () => {
  const [n, h, c] = [2, 6, 3];
  const rng = new Rng(7, 'augment.test');
  const x0 = Float32Array.from({ length: n * h * h * c }, () => 2 * rng.next() - 1);
  const w = tf.tensor4d(Float32Array.from({ length: x0.length }, () => 2 * rng.next() - 1), [n, h, h, c]);
  const p = drawAugmentParams(AUGMENT_OPS, n, h, [-1, 1], rng);
  const f = (x: tf.Tensor) => tf.sum(tf.mul(applyAugment(x, p), w)) as tf.Scalar;
  const analytic = tf.grad(f)(tf.tensor4d(x0, [n, h, h, c])).dataSync();
  const H = 1e-2;
  const numeric = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    const at = (d: number) => {
      const x = x0.slice();
      x[i] = x0[i]! + d;
      return tf.tidy(() => f(tf.tensor4d(x, [n, h, h, c])).dataSync()[0]!);
    };
    numeric[i] = (at(H) - at(-H)) / (2 * H);
  }
  assert.ok(relError(analytic, numeric) < 1e-3, `relative error ${relError(analytic, numeric)}`);
  assert.ok(Math.max(...Array.from(analytic, Math.abs)) > 0.1, 'the gradient is not all zeros');
});

test('the gradient through translation and cutout: w moved back by the shift, 0 where cut or shifted out', () => {
  const w = tf.tensor4d(Array.from({ length: 16 }, (_, i) => 100 + i), [1, 4, 4, 1]);
  const p: AugmentParams = { translation: { dy: Int32Array.of(1), dx: Int32Array.of(0) }, cutout: { y0: Int32Array.of(2), x0: Int32Array.of(2), size: 2 } };
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(applyAugment(x, p), w)))(IMG).dataSync();
  // x[i][j] lands at out[i + 1][j]; out rows 2-3, columns 2-3 are cut; x's last row leaves the image
  assert.deepEqual(Array.from(g), [104, 105, 106, 107, 108, 109, 0, 0, 112, 113, 0, 0, 0, 0, 0, 0]);
});

test('op lists: order-free, off or empty; unknown and repeated names are E_CONFIG errors', () => {
  assert.deepEqual(parseAugmentList('cutout, translation,color'), ['color', 'translation', 'cutout']);
  assert.deepEqual(parseAugmentList('off'), []);
  assert.deepEqual(parseAugmentList(''), []);
  const rejects = (spec: string, re: RegExp) =>
    assert.throws(() => parseAugmentList(spec), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && re.test(e.message) && !e.message.includes('\n'));
  rejects('translation,rotate', /train\.diffAugment "translation,rotate" is invalid; unknown op "rotate"; use off or a comma list of color, translation, cutout/);
  rejects('color,color', /color is listed twice/);
  rejects('colour', /unknown op "colour"/);
});

test('DiffAugment on 2D point data is refused with a clear error', () => {
  assert.throws(
    () => resolveConfig({ train: { diffAugment: 'translation' } }, 'toy-ring8'),
    (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && /train\.diffAugment "translation" is invalid; DiffAugment transforms images, and this model makes 2D points; use off/.test(e.message),
  );
  assert.equal(resolveConfig({ train: { diffAugment: 'off' } }, 'toy-ring8').train.diffAugment, 'off');
});

test('augmentation leaks no tensors, under a gradient too', async () => {
  const x = tf.randomUniform([3, 8, 8, 3], -1, 1, 'float32', 1);
  const rng = new Rng(1);
  await expectNoLeaks(() => {
    tf.dispose(diffAugment(x, AUGMENT_OPS, [-1, 1], rng));
    tf.dispose(tf.grad((xi: tf.Tensor) => tf.sum(diffAugment(xi, AUGMENT_OPS, [-1, 1], rng)))(x));
  });
});

test('DiffAugment reaches every input of D: reals and fakes, in D\'s update and in G\'s', async () => {
  for (const op of AUGMENT_OPS) {
    for (const [i, step] of (await dInputChanges({ diffAugment: op }, true)).entries()) {
      step.forEach((rms, j) => assert.ok(rms > 0.01, `${op}, step ${i}, input ${j}: RMS change ${rms}`));
    }
  }
  assert.ok((await dInputChanges({}, true)).flat().every((v) => v === 0));
});
