/**
 * A folder of PNG/JPEG images -> one ImageSet of size x size x channels.
 * Files are found recursively in sorted (code point) order; names starting
 * with '.' are skipped, and symlinked directories are not followed (no cycles).
 * Class labels come from the immediate subfolders, as in torchvision's ImageFolder.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgerError } from '../../core/errors.ts';
import type { ImageSet } from '../../core/image.ts';
import { decodeImage } from './decode.ts';
import { resizeCenterCrop } from './resize.ts';
import { checkLimit, interleaveByClass } from './select.ts';

export interface FolderOptions {
  /** Output side: images are scaled (short side) and centre-cropped to size x size. */
  size: number;
  /** 1 = grayscale, 3 = RGB. */
  channels: 1 | 3;
  /**
   * Keep `limit` images: the first ones in sorted order, or with labels an equal
   * share of each class (still in sorted order). @default null (all)
   */
  limit?: number | null;
  /**
   * Label each image by its top-level subfolder (0 = first in sorted order, counting
   * only folders with images). Undefined: when every image is in a subfolder and
   * there are at most 256 of them. true: required (E_DATA otherwise). false: none.
   */
  labelsFromSubdirs?: boolean;
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Relative paths ('/'-separated) of the images under `dir`, sorted. */
async function collect(dir: string, rel: string, out: string[]): Promise<void> {
  const here = rel === '' ? dir : join(dir, rel);
  const entries: Dirent[] = await readdir(here, { withFileTypes: true });
  entries.sort((a, b) => byCodePoint(a.name, b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) await collect(dir, path, out);
    else if (IMAGE_EXT.test(e.name) && (e.isFile() || (e.isSymbolicLink() && (await isFile(join(dir, path)))))) out.push(path);
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Labels from the first path component and the class names (sorted subfolders), or null when they do not apply (see FolderOptions). */
function subdirLabels(dir: string, names: string[], mode: boolean | undefined): { labels: Uint8Array; classNames: string[] } | null {
  if (mode === false) return null;
  const top = names.map((n) => (n.includes('/') ? n.slice(0, n.indexOf('/')) : null));
  const loose = top.findIndex((t) => t === null);
  const classes = [...new Set(top.filter((t): t is string => t !== null))].sort(byCodePoint);
  if (mode === true && loose >= 0) {
    throw new ForgerError('E_DATA', `cannot label ${dir} by subfolder: ${names[loose]} is not in a subfolder (expected DIR/CLASS/IMAGE)`);
  }
  if (mode === true && classes.length > 256) {
    throw new ForgerError('E_DATA', `cannot label ${dir} by subfolder: ${classes.length} subfolders, at most 256 classes fit uint8 labels`);
  }
  if (loose >= 0 || classes.length === 0 || classes.length > 256) return null;
  const index = new Map(classes.map((c, i) => [c, i]));
  return { labels: Uint8Array.from(top, (t) => index.get(t!)!), classNames: classes };
}

/** Load every PNG/JPEG under `dir`, resized and centre-cropped to size x size x channels. */
export async function loadFolder(dir: string, opts: FolderOptions): Promise<ImageSet> {
  const { size, channels } = opts;
  if (!Number.isInteger(size) || size < 1) throw new ForgerError('E_CONFIG', `image size ${size} is not allowed; use a positive integer`);
  if (channels !== 1 && channels !== 3) throw new ForgerError('E_CONFIG', `channels ${String(channels)} is not allowed; use 1 (grayscale) or 3 (RGB)`);
  const limit = checkLimit(opts.limit);
  let st;
  try {
    st = await stat(dir);
  } catch (e) {
    throw new ForgerError('E_DATA', `image folder not found: ${dir} (expected a directory of PNG or JPEG images)`, { cause: e });
  }
  if (!st.isDirectory()) throw new ForgerError('E_DATA', `${dir} is not a directory (expected a directory of PNG or JPEG images)`);

  let names: string[] = [];
  await collect(dir, '', names);
  if (names.length === 0) throw new ForgerError('E_DATA', `no PNG or JPEG images in ${dir}`);
  const classes = subdirLabels(dir, names, opts.labelsFromSubdirs);
  let labels = classes?.labels ?? null;

  if (limit !== null && limit < names.length) {
    // With labels take a balanced share of every class; keep sorted order either way.
    const keep = labels === null
      ? Int32Array.from({ length: limit }, (_, i) => i)
      : interleaveByClass(labels).subarray(0, limit).sort();
    names = Array.from(keep, (i) => names[i]!);
    if (labels !== null) labels = Uint8Array.from(keep, (i) => labels![i]!);
  }

  const per = size * size * channels;
  const pixels = new Uint8Array(names.length * per);
  for (let i = 0; i < names.length; i++) {
    const path = join(dir, names[i]!);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new ForgerError('E_DATA', `cannot read image ${path}: ${(e as Error).message}`, { cause: e });
    }
    pixels.set(resizeCenterCrop(decodeImage(bytes, path), size, channels).data, i * per);
  }
  return { shape: [size, size, channels], count: names.length, pixels, labels, names, ...(classes ? { classNames: classes.classNames } : {}) };
}
