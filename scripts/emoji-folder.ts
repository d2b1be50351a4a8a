// Make a folder of real colour images for folder-dcgan64: the ~3,900 emoji of
// Debian's fonts-noto-color-emoji as PNG files.  npm run emoji-folder -- data/emoji
import { writeEmojiFolder } from '../src/node/data/emoji.ts';
import { isForgerError } from '../src/core/errors.ts';

const dir = process.argv[2] ?? 'data/emoji';
try {
  const n = await writeEmojiFolder(dir);
  console.log(`wrote ${n} emoji PNGs to ${dir}; train with: npx forger train --preset folder-dcgan64 --data ${dir}`);
} catch (e) {
  console.error(`emoji-folder: ${isForgerError(e) ? e.message : String(e)}`);
  process.exitCode = 1;
}
