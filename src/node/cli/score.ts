/** forger score RUN IMAGE_OR_DIR...: the discriminator as a fake detector. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { dataRange, isConditional, isImageModel } from '../../core/config.ts';
import { ForgerError } from '../../core/errors.ts';
import { fromUint8 } from '../../core/image.ts';
import { classLabel } from '../../core/labels.ts';
import { scoreConditional, scoreReal } from '../../core/sample.ts';
import { setupBackend } from '../backend/setup.ts';
import { decodeImage } from '../data/decode.ts';
import { resizeCenterCrop } from '../data/resize.ts';
import { loadRun } from '../run/load.ts';
import type { Io } from './main.ts';
import { choiceOption, parse } from './parse.ts';
import { classOption } from './sample.ts';

const HELP = `usage: forger score RUN IMAGE_OR_DIR... [--json] [--class C]

Prints P(real) = sigmoid(D(x)) for each PNG/JPEG image (folders are searched recursively),
resized and center-cropped to the model's size. Note that D is only a detector for
the kind of fakes its generator made while it trained.
Class-conditional runs also print a class: AC-GAN's D gives P(real) from its adversarial
logit and the class its class head finds most likely (with that probability); a projection
D scores D(x, C) for --class C, or else the class for which D finds the image most real.

  --json         one JSON array instead of lines
  --class C      projection runs: score every image as class C (an index or a name)
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
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, class: { type: 'string' }, backend: { type: 'string' } });
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
    const label = classOption(values, model, runDir);
    if (label !== null && model.conditional === 'acgan') throw new ForgerError('E_USAGE', `--class applies to projection runs; ${runDir}'s AC-GAN D names the class itself`);
    if (!isConditional(model)) {
      const p = scoreReal(await run.loadDiscriminator(), x, model.dataShape);
      if (values.json) {
        io.out(JSON.stringify(files.map((file, i) => ({ file, pReal: Number(p[i]!.toFixed(6)) })), null, 2) + '\n');
      } else {
        files.forEach((file, i) => io.out(`${p[i]!.toFixed(4)}  ${file}\n`));
      }
      return 0;
    }
    const s = scoreConditional(await run.loadDiscriminator(), model, x, label);
    const rows = files.map((file, i) => ({
      file,
      pReal: Number(s.pReal[i]!.toFixed(6)),
      class: s.label[i]!,
      className: model.classNames[s.label[i]!] ?? String(s.label[i]),
      pClass: s.pClass ? Number(s.pClass[i]!.toFixed(6)) : undefined, // acgan only (JSON leaves it out otherwise)
    }));
    if (values.json) {
      io.out(JSON.stringify(rows, null, 2) + '\n');
    } else {
      rows.forEach((r) => io.out(`${r.pReal.toFixed(4)}  class ${classLabel(model.classNames, r.class)}${r.pClass === undefined ? '' : ` (p ${r.pClass.toFixed(3)})`}  ${r.file}\n`));
    }
    return 0;
  } finally {
    run.dispose();
  }
}
