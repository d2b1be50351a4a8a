/**
 * The IDX format of MNIST and Fashion-MNIST, plain or gzipped.
 *
 * Layout: magic [0x00, 0x00, type, ndims], then ndims big-endian uint32 sizes,
 * then the values row-major (multi-byte types big-endian).
 * http://yann.lecun.com/exdb/mnist/ (bottom of the page)
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ForgerError } from '../../core/errors.ts';
import type { ImageSet } from '../../core/image.ts';
import { checkLimit } from './select.ts';

const gunzipAsync = promisify(gunzip);

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  /** Sizes from the header, outermost first: [60000, 28, 28] for MNIST images. */
  dims: number[];
  type: IdxType;
  /** prod(dims) values, row-major, in host byte order. */
  data: IdxData;
}

/** Type byte -> element type and size in bytes. */
const TYPES: Record<number, [IdxType, number]> = {
  0x08: ['uint8', 1],
  0x09: ['int8', 1],
  0x0b: ['int16', 2],
  0x0c: ['int32', 4],
  0x0d: ['float32', 4],
  0x0e: ['float64', 8],
};

const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** Read a whole file, naming the path on failure. */
async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ForgerError('E_DATA', `IDX file not found: ${path}`, { cause: e });
    if (code === 'EISDIR') throw new ForgerError('E_DATA', `${path} is a directory, expected an IDX file`, { cause: e });
    throw new ForgerError('E_DATA', `cannot read IDX file ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Parse an IDX file (gzip is detected by its 1f 8b magic, not by the name). */
export async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Uint8Array = await readBytes(path);
  if (bytes.length === 0) throw new ForgerError('E_DATA', `empty IDX file: ${path} (0 bytes, expected a 4-byte magic and sizes)`);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (e) {
      throw new ForgerError('E_DATA', `corrupt gzip in IDX file ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (bytes.length === 0) throw new ForgerError('E_DATA', `empty IDX file: ${path} (gzip holds 0 bytes, expected a 4-byte magic and sizes)`);
  }
  return parseIdx(bytes, path);
}

/** Parse IDX bytes already in memory; `path` only names them in errors. */
export function parseIdx(bytes: Uint8Array, path: string): IdxArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new ForgerError('E_DATA', `truncated IDX file: ${path} (${bytes.length} bytes, expected at least a 4-byte magic)`);
  const magic = view.getUint32(0);
  const typeByte = bytes[2]!;
  const ndims = bytes[3]!;
  const t = TYPES[typeByte];
  if (bytes[0] !== 0 || bytes[1] !== 0 || t === undefined || ndims === 0) {
    throw new ForgerError('E_DATA', `not an IDX file: ${path} (magic ${hex(magic)}, expected 0x0000TTNN with type TT in 08,09,0b,0c,0d,0e and NN >= 1 dims)`);
  }
  const [type, size] = t;
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) {
    throw new ForgerError('E_DATA', `truncated IDX file: ${path} (${bytes.length} bytes, the header of ${ndims} dims needs ${headerLen})`);
  }
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const need = count * size;
  const have = bytes.length - headerLen;
  if (have < need) {
    throw new ForgerError('E_DATA', `truncated IDX file: ${path} (${have} data bytes, dims ${dims.join('x')} of ${type} need ${need})`);
  }
  if (have > need) {
    throw new ForgerError('E_DATA', `IDX file ${path} has ${have - need} bytes after its data (dims ${dims.join('x')} of ${type} need ${need}); is the header right?`);
  }
  return { dims, type, data: decodeValues(view, headerLen, count, type) };
}

/** Copy `count` big-endian values starting at `off` into a host-order typed array. */
function decodeValues(view: DataView, off: number, count: number, type: IdxType): IdxData {
  switch (type) {
    case 'uint8':
      return new Uint8Array(view.buffer, view.byteOffset + off, count).slice();
    case 'int8':
      return new Int8Array(view.buffer, view.byteOffset + off, count).slice();
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(off + 2 * i);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(off + 4 * i);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(off + 4 * i);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(off + 8 * i);
      return out;
    }
  }
}

export interface IdxImageOptions {
  /**
   * Labels IDX file. Undefined: look beside the images (train-labels-idx1-ubyte[.gz]
   * in a directory, or the images' name with images/idx3 -> labels/idx1); null: no labels.
   */
  labelsPath?: string | null;
  /** Keep only the first `limit` images. @default null (all) */
  limit?: number | null;
}

/** train-images-idx3-ubyte, train-images.idx3-ubyte, each optionally .gz. */
const TRAIN_IMAGES = /^train-images[-.]idx3-ubyte(\.gz)?$/i;
const TRAIN_LABELS = /^train-labels[-.]idx1-ubyte(\.gz)?$/i;

/** The first name in `dir` matching `re`, uncompressed before .gz; null if none. */
async function findIn(dir: string, re: RegExp): Promise<string | null> {
  const names = (await readdir(dir)).filter((n) => re.test(n)).sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  return names[0] === undefined ? null : join(dir, names[0]);
}

/** The labels file next to an images file, by MNIST naming; null if none exists. */
async function siblingLabels(imagesPath: string): Promise<string | null> {
  const name = basename(imagesPath).replace(/\.gz$/i, '');
  const guess = name.replace(/images/i, 'labels').replace(/idx3/i, 'idx1');
  if (guess === name) return null;
  for (const candidate of [guess, `${guess}.gz`]) {
    const p = join(dirname(imagesPath), candidate);
    if (await isFile(p)) return p;
  }
  return null;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * Load MNIST-format images (and labels when there are some) as [rows, cols, 1].
 * `path` is an images IDX file or a directory holding train-images-idx3-ubyte[.gz].
 */
export async function loadIdxImages(path: string, opts: IdxImageOptions = {}): Promise<ImageSet> {
  const limit = checkLimit(opts.limit);
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new ForgerError('E_DATA', `IDX data not found: ${path} (expected an images IDX file or a directory with train-images-idx3-ubyte[.gz])`, { cause: e });
  }
  let imagesPath = path;
  let labelsPath = opts.labelsPath;
  if (st.isDirectory()) {
    const found = await findIn(path, TRAIN_IMAGES);
    if (found === null) throw new ForgerError('E_DATA', `no MNIST-format images in ${path} (expected train-images-idx3-ubyte, optionally .gz)`);
    imagesPath = found;
    if (labelsPath === undefined) labelsPath = await findIn(path, TRAIN_LABELS);
  } else if (labelsPath === undefined) {
    labelsPath = await siblingLabels(path);
  }

  const images = await readIdx(imagesPath);
  if (images.type !== 'uint8' || images.dims.length !== 3) {
    throw new ForgerError('E_DATA', `${imagesPath} holds ${images.type} [${images.dims.join(', ')}], expected uint8 images [count, rows, cols]`);
  }
  const [total, rows, cols] = images.dims as [number, number, number];
  const count = limit === null ? total : Math.min(limit, total);
  const pixels = count === total ? (images.data as Uint8Array) : (images.data as Uint8Array).slice(0, count * rows * cols);

  let labels: Uint8Array | null = null;
  let classNames: string[] | undefined;
  if (labelsPath !== null && labelsPath !== undefined) {
    const l = await readIdx(labelsPath);
    if (l.type !== 'uint8' || l.dims.length !== 1) {
      throw new ForgerError('E_DATA', `${labelsPath} holds ${l.type} [${l.dims.join(', ')}], expected uint8 labels [count]`);
    }
    if (l.dims[0] !== total) {
      throw new ForgerError('E_DATA', `label count ${l.dims[0]} in ${labelsPath} does not match image count ${total} in ${imagesPath}`);
    }
    labels = count === total ? (l.data as Uint8Array) : (l.data as Uint8Array).slice(0, count);
    // Classes are numbered 0 .. the largest label in the whole file (a --limit does not change them):
    // MNIST-format labels carry no names.
    const max = (l.data as Uint8Array).reduce((a, b) => Math.max(a, b), 0);
    classNames = Array.from({ length: max + 1 }, (_, i) => String(i));
  }
  return { shape: [rows, cols, 1], count, pixels, labels, ...(classNames ? { classNames } : {}) };
}
