/**
 * PNG and JPEG bytes -> Image8, sniffed by magic bytes (not by file name).
 *
 * PNG: every colour type, bit depth (16-bit scaled to 8), palette and interlace
 * that pngjs reads; gray PNGs come back with 1 channel, colour ones with 3.
 * Transparency is composited over white (see channels.ts).
 * JPEG: always 3 channels (jpeg-js replicates gray); EXIF orientation is ignored.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ForgerError } from '../../core/errors.ts';
import type { Image8 } from '../../core/image.ts';
import { convertChannels } from './channels.ts';

/** Refuse JPEGs that would need more than this to decode (a 100-megapixel cap also applies). */
const JPEG_MAX_MEMORY_MB = 1024;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((v, i) => bytes[i] === v);
}

/** A short name for formats we recognise but do not read. */
function otherFormat(bytes: Uint8Array): string | null {
  const ascii = String.fromCharCode(...bytes.subarray(0, 12));
  if (ascii.startsWith('GIF8')) return 'GIF';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') return 'WebP';
  if (ascii.startsWith('BM')) return 'BMP';
  if (ascii.startsWith('II*\0') || ascii.startsWith('MM\0*')) return 'TIFF';
  if (ascii.slice(4, 8) === 'ftyp') return 'HEIF/AVIF';
  return null;
}

const fail = (name: string, reason: string, cause?: unknown): ForgerError =>
  new ForgerError('E_DATA', `cannot decode image ${name}: ${reason}`, { cause });

/** Decode PNG or JPEG `bytes`; `name` (a path) only labels errors. */
export function decodeImage(bytes: Uint8Array, name: string): Image8 {
  if (bytes.length === 0) throw fail(name, 'the file is empty');
  if (startsWith(bytes, PNG_MAGIC)) return decodePng(bytes, name);
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return decodeJpeg(bytes, name);
  const other = otherFormat(bytes);
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw fail(name, other !== null ? `${other} is not supported; convert it to PNG or JPEG` : `not a PNG or JPEG (starts with ${head})`);
}

function decodePng(bytes: Uint8Array, name: string): Image8 {
  let png;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw fail(name, `corrupt PNG (${(e as Error).message})`, e);
  }
  // pngjs always hands back 8-bit RGBA (palette expanded, tRNS applied).
  const rgba: Image8 = { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  return convertChannels(rgba, png.color ? 3 : 1);
}

function decodeJpeg(bytes: Uint8Array, name: string): Image8 {
  let img;
  try {
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB });
  } catch (e) {
    throw fail(name, `corrupt JPEG (${(e as Error).message})`, e);
  }
  if (!(img.width > 0 && img.height > 0) || img.data.length !== img.width * img.height * 3) {
    throw fail(name, `corrupt JPEG (decoded ${img.width}x${img.height} with ${img.data.length} bytes)`);
  }
  return { width: img.width, height: img.height, channels: 3, data: img.data };
}
