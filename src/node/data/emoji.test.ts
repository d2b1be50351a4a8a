import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodePng } from '../io/png.ts';
import { decodeImage } from './decode.ts';
import { embeddedPngs, NOTO_EMOJI_FONT, writeEmojiFolder } from './emoji.ts';

test('finds each PNG stream embedded in other bytes, exactly', () => {
  const a = Buffer.from(encodePng({ width: 2, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0, 0, 0, 255]) }));
  const b = Buffer.from(encodePng({ width: 1, height: 1, channels: 1, data: Uint8Array.from([7]) }));
  const found = embeddedPngs(Buffer.concat([Buffer.from('head'), a, Buffer.from('middle'), b, Buffer.from('tail')]));
  assert.equal(found.length, 2);
  assert.deepEqual(found[0], a);
  assert.deepEqual(Array.from(decodeImage(found[1]!, 'b').data), [7]);
});

test('a missing font or one without bitmaps is a clear error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'forger-emoji-'));
  await assert.rejects(writeEmojiFolder(dir, join(dir, 'none.ttf')), /emoji font not found .*apt-get install fonts-noto-color-emoji/);
  await writeFile(join(dir, 'plain.ttf'), 'no images here');
  await assert.rejects(writeEmojiFolder(dir, join(dir, 'plain.ttf')), /no embedded PNG images/);
  await rm(dir, { recursive: true, force: true });
});

test('the Noto colour emoji font gives decodable 136x128 images', { skip: !existsSync(NOTO_EMOJI_FONT) && 'fonts-noto-color-emoji not installed' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'forger-emoji-'));
  assert.equal(await writeEmojiFolder(dir, NOTO_EMOJI_FONT, 5), 5);
  const files = (await readdir(dir)).sort();
  assert.deepEqual(files, ['emoji-0000.png', 'emoji-0001.png', 'emoji-0002.png', 'emoji-0003.png', 'emoji-0004.png']);
  const { readFile } = await import('node:fs/promises');
  const img = decodeImage(await readFile(join(dir, files[0]!)), files[0]!);
  assert.deepEqual([img.width, img.height, img.channels], [136, 128, 3]);
  await rm(dir, { recursive: true, force: true });
});
