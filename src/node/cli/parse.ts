/** util.parseArgs with Forger's errors: one line naming the bad option. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ForgerError } from '../../core/errors.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(argv: string[], options: Options, positionals = true): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: positionals, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    throw new ForgerError('E_USAGE', `${msg} (see --help)`);
  }
}

export function intOption(values: Record<string, unknown>, name: string, fallback: number, min = 1, max = 1_000_000): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const s = String(raw).trim();
  const v = Number(s);
  if (!/^-?\d+$/.test(s) || v < min || v > max) throw new ForgerError('E_USAGE', `--${name} expects an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  return v;
}

export function choiceOption<T extends string>(values: Record<string, unknown>, name: string, choices: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (!choices.includes(raw as T)) throw new ForgerError('E_USAGE', `--${name} ${JSON.stringify(raw)} is invalid; use one of ${choices.join(', ')}`);
  return raw as T;
}
