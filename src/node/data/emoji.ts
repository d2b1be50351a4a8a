/**
 * A real colour image folder from Debian's fonts-noto-color-emoji: its CBDT
 * table stores every emoji as a 136x128 PNG, which we copy out byte for byte.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgerError } from '../../core/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';

export const NOTO_EMOJI_FONT = '/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Every complete PNG stream embedded in `bytes` (signature, chunks, through IEND). */
export function embeddedPngs(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = bytes.indexOf(PNG_MAGIC);
  while (i >= 0) {
    let p = i + 8;
    let end = -1;
    while (p + 12 <= bytes.length) {
      const len = bytes.readUInt32BE(p);
      const type = bytes.toString('latin1', p + 4, p + 8);
      p += 12 + len;
      if (type === 'IEND') {
        end = p;
        break;
      }
    }
    if (end < 0 || end > bytes.length) break;
    out.push(bytes.subarray(i, end));
    i = bytes.indexOf(PNG_MAGIC, end);
  }
  return out;
}

/** Write the font's emoji as dir/emoji-0000.png ...; returns how many. */
export async function writeEmojiFolder(dir: string, fontPath = NOTO_EMOJI_FONT, limit: number | null = null): Promise<number> {
  let font: Buffer;
  try {
    font = await readFile(fontPath);
  } catch {
    throw new ForgerError('E_DATA', `emoji font not found at ${fontPath}; install it with: sudo apt-get install fonts-noto-color-emoji`);
  }
  const pngs = embeddedPngs(font).slice(0, limit ?? undefined);
  if (pngs.length === 0) throw new ForgerError('E_DATA', `no embedded PNG images in ${fontPath}; is it a colour bitmap (CBDT) font?`);
  for (let k = 0; k < pngs.length; k++) await writeFileAtomic(join(dir, `emoji-${String(k).padStart(4, '0')}.png`), pngs[k]!);
  return pngs.length;
}
