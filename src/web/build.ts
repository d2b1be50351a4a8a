/**
 * Bundles a browser entry with esbuild. platform 'browser' makes any Node
 * builtin (node:fs, path, ...) reachable from the entry a build error, so a
 * successful bundle of the core proves the core has no Node dependencies.
 */
import { build } from 'esbuild';

export async function buildWebBundle(entry: string, outFile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
}
