/** The real data a config asks for, loaded and wrapped in a sampler. */
import { dataRange, isConditional, type ResolvedConfig } from '../../core/config.ts';
import { circlesSampler, ImageSampler, toySampler, type RealData } from '../../core/data.ts';
import { ForgerError } from '../../core/errors.ts';
import type { ImageSet } from '../../core/image.ts';
import { isToyName } from '../../core/toy2d.ts';
import { loadFashion } from '../data/fashion.ts';
import { loadFolder } from '../data/folder.ts';
import { loadIdxImages } from '../data/idx.ts';
import { loadMnist } from '../data/mnist.ts';

/** Load the image set of an image source (not toy or circles data). */
export async function loadImageSet(config: ResolvedConfig): Promise<ImageSet> {
  const { source, path, limit } = config.data;
  const [size, , channels] = config.model.dataShape as [number, number, number];
  switch (source) {
    case 'mnist':
      return loadMnist(limit);
    case 'fashion':
      return loadFashion(path, limit);
    case 'idx':
      if (!path) throw new ForgerError('E_CONFIG', 'data source idx needs --data PATH (an IDX images file or a folder holding train-images-idx3-ubyte)');
      return loadIdxImages(path, { limit });
    case 'folder':
      if (!path) throw new ForgerError('E_CONFIG', `preset ${config.preset} needs --data DIR, a folder of PNG/JPEG images`);
      // A conditional model needs every image in a class subfolder (DIR/CLASS/IMAGE).
      return loadFolder(path, { size, channels: channels as 1 | 3, limit, ...(isConditional(config.model) ? { labelsFromSubdirs: true } : {}) });
    default:
      throw new ForgerError('E_CONFIG', `data source ${source} is generated, not loaded`);
  }
}

/** Check a loaded set against the model's data shape. */
export function checkImageSet(set: ImageSet, config: ResolvedConfig): void {
  const want = config.model.dataShape;
  const [h, w, c] = set.shape;
  if (h !== want[0] || w !== want[1]) {
    throw new ForgerError('E_DATA', `${config.data.source} images are ${h}x${w}, the model expects ${want[0]}x${want[1]}; set --image-size ${h} (and a matching --base-size) or use other data`);
  }
  if (c !== want[2]) {
    throw new ForgerError('E_DATA', `${config.data.source} images have ${c} channel(s), the model expects ${want[2]}; set --channels ${c}`);
  }
}

export async function loadRealData(config: ResolvedConfig): Promise<RealData> {
  const { source } = config.data;
  if (isToyName(source)) return toySampler(source, config.seed);
  const range = dataRange(config.model);
  if (!range) throw new ForgerError('E_CONFIG', `model.output linear cannot be used for images; use tanh or sigmoid`);
  if (source === 'circles') return circlesSampler(range, config.seed);
  const set = await loadImageSet(config);
  checkImageSet(set, config);
  return new ImageSampler(set, range, config.seed);
}
