#!/usr/bin/env node
// Builds Forger's native addon (native/: oneDNN + OpenMP kernels for the 'native'
// backend) when oneDNN's headers are present. Runs as the package's install script,
// so `npm ci` builds it; `npm run build:native` rebuilds it by hand.
// It never fails the install: without oneDNN, or if the build fails, it says so in
// one line and Forger runs on the wasm backend. Set FORGER_NATIVE=require to turn
// a missing or failed build into an error instead (CI does).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const logPath = join(nativeDir, 'build', 'build.log');
const required = process.env.FORGER_NATIVE === 'require';

function done(ok, line) {
  console.log(`forger: ${line}`);
  process.exit(ok || !required ? 0 : 1);
}

if (process.env.FORGER_NATIVE === 'off') done(true, 'native backend build skipped (FORGER_NATIVE=off); using wasm');
if (process.platform !== 'linux' || process.arch !== 'x64') done(false, `native backend is built on linux x64 only (this is ${process.platform} ${process.arch}); using wasm`);

const includeDirs = (process.env.CPATH ?? '').split(':').filter(Boolean).concat(['/usr/include', '/usr/local/include']);
if (!includeDirs.some((d) => existsSync(join(d, 'oneapi', 'dnnl', 'dnnl.hpp')))) {
  done(false, 'oneDNN not found (Debian/Ubuntu: apt-get install libdnnl-dev, then npm run build:native); native backend off, using wasm');
}

// node-gyp: npm's own copy when run from npm, else the one shipped with npm next to this node.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter(Boolean);
const nodeGyp = candidates.find((p) => existsSync(p));
if (!nodeGyp) done(false, 'node-gyp not found (it ships with npm); native backend off, using wasm');

// Build against the headers installed with this node (no download).
const prefix = resolve(dirname(process.execPath), '..');
const args = [nodeGyp, 'rebuild'];
if (existsSync(join(prefix, 'include', 'node', 'node.h'))) args.push(`--nodedir=${prefix}`);

console.log('forger: building the native backend (oneDNN)...');
const t0 = Date.now();
const r = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8' });
mkdirSync(dirname(logPath), { recursive: true });
writeFileSync(logPath, `${r.stdout ?? ''}\n${r.stderr ?? ''}`);
if (r.status !== 0) {
  const firstError = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => /error/i.test(l))?.trim() ?? `node-gyp exited with ${r.status}`;
  done(false, `native backend build failed (${firstError.slice(0, 160)}; full log: native/build/build.log); using wasm`);
}
// Load it once: a build that links but cannot load is a failure too.
const check = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(join(nativeDir, 'build', 'Release', 'forger_native.node'))}); const i = a.info(); console.log(i.onednn + ' ' + i.isa + ', ' + i.threads + ' threads')`], { encoding: 'utf8' });
if (check.status !== 0) done(false, `native backend built but does not load (${(check.stderr.split('\n').find((l) => l.includes('Error')) ?? '').trim()}); using wasm`);
done(true, `native backend built in ${((Date.now() - t0) / 1000).toFixed(0)} s (oneDNN ${check.stdout.trim()})`);
