/**
 * Fashion-MNIST (Zalando): 60000 28x28 gray training images in 10 classes, in the
 * MNIST IDX format. Debian's dataset-fashion-mnist package installs
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz in FASHION_DEFAULT_DIR.
 */
import { stat } from 'node:fs/promises';
import { ForgerError } from '../../core/errors.ts';
import type { ImageSet } from '../../core/image.ts';
import { loadIdxImages } from './idx.ts';

export const FASHION_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** Class names in label order. */
export const FASHION_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

/**
 * The Fashion-MNIST training set from `path` (a directory or an images IDX file),
 * or from FASHION_DEFAULT_DIR when `path` is null.
 */
export async function loadFashion(path: string | null, limit: number | null = null): Promise<ImageSet> {
  const where = path ?? FASHION_DEFAULT_DIR;
  try {
    await stat(where);
  } catch (e) {
    const hint = path === null
      ? 'install it with: sudo apt-get install dataset-fashion-mnist, or pass --data PATH to MNIST-format IDX files'
      : 'pass --data PATH to a directory or images file in MNIST IDX format, or leave it out to use ' + FASHION_DEFAULT_DIR;
    throw new ForgerError('E_DATA', `Fashion-MNIST not found at ${where}; ${hint}`, { cause: e });
  }
  const set = await loadIdxImages(where, { limit });
  if (set.labels) {
    const max = set.labels.reduce((a, b) => Math.max(a, b), 0);
    // Fashion's names for its ten labels; other IDX data given as --dataset fashion keeps numbered classes
    if (max < FASHION_CLASSES.length) set.classNames = [...FASHION_CLASSES];
  }
  return set;
}
