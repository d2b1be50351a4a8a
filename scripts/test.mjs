#!/usr/bin/env node
// Runs every *.test.ts under src/ with node:test through tsx (Node 20 has no --test globs).
// Extra arguments narrow the set: node scripts/test.mjs src/core
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? find(p) : name.endsWith('.test.ts') ? [p] : [];
    });
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['src']).flatMap((r) => (statSync(r).isDirectory() ? find(r) : [r]));
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
