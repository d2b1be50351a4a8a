/** forger score RUN IMAGE_OR_DIR...: the discriminator as a fake detector. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { dataRange, isImageModel } from '../../core/config.ts';
import { ForgerError } from '../../core/errors.ts';
import { fromUint8 } from '../../core/image.ts';
import { scoreReal } from '../../core/sample.ts';
import { setupBackend } from '../backend/setup.ts';
import { decodeImage } from '../data/decode.ts';
import { resizeCenterCrop } from '../data/resize.ts';
import { loadRun } from '../run/load.ts';
import type { Io } from './main.ts';
import { choiceOption, parse } from './parse.ts';

const HELP = `usage: forger score RUN IMAGE_OR_DIR... [--json]

Prints P(real) = sigmoid(D(x)) for each PNG/JPEG image (folders are searched recursively),
resized and center-cropped to the model's size. Note that D is only a detector for
the kind of fakes its generator made while it trained.

  --json         one JSON array instead of lines
  --backend B    auto | native | wasm | cpu
`;

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

async function expand(path: string): Promise<string[]> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new ForgerError('E_DATA', `${path} does not exist`);
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const name of (await readdir(path)).sort()) {
    if (name.startsWith('.')) continue;
    const p = join(path, name);
    const s = await stat(p);
    if (s.isDirectory()) out.push(...(await expand(p)));
    else if (IMAGE_EXT.has(extname(name).toLowerCase())) out.push(p);
  }
  return out;
}

export async function scoreCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, backend: { type: 'string' } });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const [runDir, ...inputs] = positionals;
  if (!runDir || inputs.length === 0) throw new ForgerError('E_USAGE', 'expected a run and at least one image or folder: forger score RUN IMAGE_OR_DIR...');
  const files = (await Promise.all(inputs.map(expand))).flat();
  if (files.length === 0) throw new ForgerError('E_DATA', `no PNG or JPEG images in ${inputs.join(', ')}`);
  await setupBackend(choiceOption(values, 'backend', ['auto', 'native', 'wasm', 'cpu'] as const, 'auto'));
  const run = await loadRun(runDir);
  try {
    const model = run.state.config.model;
    if (!isImageModel(model)) throw new ForgerError('E_CONFIG', `${runDir} is a 2D model; score takes images`);
    const [size, , channels] = model.dataShape as [number, number, number];
    const per = size * size * channels;
    const x = new Float32Array(files.length * per);
    for (let i = 0; i < files.length; i++) {
      const img = resizeCenterCrop(decodeImage(await readFile(files[i]!), files[i]!), size, channels as 1 | 3);
      fromUint8(img.data, dataRange(model)!, x.subarray(i * per, (i + 1) * per));
    }
    const p = scoreReal(await run.loadDiscriminator(), x, model.dataShape);
    if (values.json) {
      io.out(JSON.stringify(files.map((file, i) => ({ file, pReal: Number(p[i]!.toFixed(6)) })), null, 2) + '\n');
    } else {
      files.forEach((file, i) => io.out(`${p[i]!.toFixed(4)}  ${file}\n`));
    }
    return 0;
  } finally {
    run.dispose();
  }
}
