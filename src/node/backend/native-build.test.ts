/** scripts/build-native.mjs, the install script: never fails an install unless asked to, and says why in one line. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const SCRIPT = fileURLToPath(new URL('../../../scripts/build-native.mjs', import.meta.url));

test('FORGER_NATIVE=off skips the build with one line and exit 0', () => {
  const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', env: { ...process.env, FORGER_NATIVE: 'off' } });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'forger: native backend build skipped (FORGER_NATIVE=off); using wasm\n');
  assert.equal(r.stderr, '');
});

const ONEDNN = existsSync('/usr/include/oneapi/dnnl/dnnl.hpp');

test('a missing node-gyp is one line: exit 0 normally, 1 under FORGER_NATIVE=require', { skip: ONEDNN ? false : 'oneDNN headers absent: the script stops earlier' }, () => {
  // a node binary path whose npm has no node-gyp, and no npm_config_node_gyp
  const env = { ...process.env, npm_config_node_gyp: '/nonexistent/node-gyp.js' };
  const fakeExec = ['-e', `process.execPath = '/nonexistent/bin/node'; process.argv[1] = ${JSON.stringify(SCRIPT)}; await import(${JSON.stringify(new URL('../../../scripts/build-native.mjs', import.meta.url).href)});`];
  for (const [mode, code] of [[undefined, 0], ['require', 1]] as const) {
    const r = spawnSync(process.execPath, ['--input-type=module', ...fakeExec], { encoding: 'utf8', env: { ...env, FORGER_NATIVE: mode ?? '' } });
    assert.equal(r.status, code, r.stderr);
    assert.equal(r.stdout, 'forger: node-gyp not found (it ships with npm); native backend off, using wasm\n');
  }
});
