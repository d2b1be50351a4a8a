import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ForgerError } from '../../core/errors.ts';
import { ensureWritableDir, recoverDirAtomic, replaceDirAtomic, writeFileAtomic } from './atomic.ts';

const root = await mkdtemp(join(tmpdir(), 'forger-atomic-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;
const fresh = async () => {
  const dir = join(root, `case-${n++}`);
  await mkdir(dir);
  return dir;
};

/** A pid that surely belongs to no running process: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

const isIoError = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ForgerError, `expected ForgerError, got ${String(e)}`);
  assert.equal(e.code, 'E_IO');
  assert.match(e.message, pattern);
  assert.ok(!e.message.includes('\n'), 'one-line message');
  return true;
};

test('writeFileAtomic creates parents, writes, overwrites and leaves no temp file', async () => {
  const dir = await fresh();
  const path = join(dir, 'a', 'b', 'run.json');
  await writeFileAtomic(path, '{"v":1}');
  assert.equal(await readFile(path, 'utf8'), '{"v":1}');
  await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  assert.deepEqual(new Uint8Array(await readFile(path)), new Uint8Array([1, 2, 3]));
  assert.deepEqual(await readdir(join(dir, 'a', 'b')), ['run.json']);
});

test('writeFileAtomic onto a directory fails with E_IO and cleans its temp file', async () => {
  const dir = await fresh();
  await mkdir(join(dir, 'taken'));
  await assert.rejects(writeFileAtomic(join(dir, 'taken'), 'x'), isIoError(/^cannot write .*taken: /));
  assert.deepEqual(await readdir(dir), ['taken']);
});

test('replaceDirAtomic creates, then replaces, a directory', async () => {
  const dir = await fresh();
  const final = join(dir, 'ckpt');
  await replaceDirAtomic(final, async (tmp) => {
    await writeFile(join(tmp, 'weights.bin'), 'old');
    await mkdir(join(tmp, 'sub'));
    await writeFile(join(tmp, 'sub', 'meta.json'), '{}');
  });
  assert.equal(await readFile(join(final, 'weights.bin'), 'utf8'), 'old');

  await replaceDirAtomic(final, async (tmp) => writeFile(join(tmp, 'weights.bin'), 'new'));
  assert.deepEqual(await readdir(final), ['weights.bin']);
  assert.equal(await readFile(join(final, 'weights.bin'), 'utf8'), 'new');
  assert.deepEqual(await readdir(dir), ['ckpt'], 'no temp or old siblings remain');
});

test('a failing fill leaves the old directory intact and no temp directory behind', async () => {
  const dir = await fresh();
  const final = join(dir, 'ckpt');
  await replaceDirAtomic(final, async (tmp) => writeFile(join(tmp, 'weights.bin'), 'old'));

  const boom = new Error('disk full halfway');
  await assert.rejects(
    replaceDirAtomic(final, async (tmp) => {
      await writeFile(join(tmp, 'weights.bin'), 'half');
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.deepEqual(await readdir(final), ['weights.bin']);
  assert.equal(await readFile(join(final, 'weights.bin'), 'utf8'), 'old');
  assert.deepEqual(await readdir(dir), ['ckpt']);
});

test('a crash between the two renames is recovered: the old copy comes back', async () => {
  const dir = await fresh();
  const final = join(dir, 'ckpt');
  const pid = deadPid();
  // What a process killed mid-swap leaves: old copy aside, complete new copy in temp, no final.
  const old = join(dir, `.ckpt.old-${pid}-0000`);
  await mkdir(old);
  await writeFile(join(old, 'weights.bin'), 'old');
  await mkdir(join(dir, `.ckpt.tmp-${pid}-1111`));

  await recoverDirAtomic(final);
  assert.equal(await readFile(join(final, 'weights.bin'), 'utf8'), 'old');
  assert.deepEqual(await readdir(dir), ['ckpt']);
});

test('replaceDirAtomic recovers first, and stale siblings of live targets are removed', async () => {
  const dir = await fresh();
  const final = join(dir, 'ckpt');
  await replaceDirAtomic(final, async (tmp) => writeFile(join(tmp, 'w'), '1'));
  const pid = deadPid();
  await mkdir(join(dir, `.ckpt.old-${pid}-aaaa`)); // crash after the swap, before the delete
  await mkdir(join(dir, `.ckpt.tmp-${pid}-bbbb`)); // crash during fill
  await mkdir(join(dir, `.other.tmp-${pid}-cccc`)); // someone else's: left alone

  await replaceDirAtomic(final, async (tmp) => writeFile(join(tmp, 'w'), '2'));
  assert.equal(await readFile(join(final, 'w'), 'utf8'), '2');
  assert.deepEqual((await readdir(dir)).sort(), [`.other.tmp-${pid}-cccc`, 'ckpt']);
});

test('replaceDirAtomic refuses to replace a file', async () => {
  const dir = await fresh();
  await writeFile(join(dir, 'ckpt'), 'not a dir');
  await assert.rejects(replaceDirAtomic(join(dir, 'ckpt'), async () => {}), isIoError(/ckpt: it exists and is not a directory$/));
  assert.equal(await readFile(join(dir, 'ckpt'), 'utf8'), 'not a dir');
});

test('ensureWritableDir creates nested directories and leaves nothing in them', async () => {
  const dir = join(await fresh(), 'runs', 'mnist');
  await ensureWritableDir(dir);
  assert.deepEqual(await readdir(dir), []);
  await ensureWritableDir(dir); // existing is fine
});

test('ensureWritableDir under a regular file: E_IO naming the directory', async () => {
  const file = join(await fresh(), 'somefile');
  await writeFile(file, '');
  const dir = join(file, 'sub');
  await assert.rejects(
    ensureWritableDir(dir),
    isIoError(new RegExp(`^cannot write to output directory ${dir}: a parent of it is not a directory \\(ENOTDIR\\)$`)),
  );
});

test('ensureWritableDir on a read-only directory (not as root, who may write anyway)', async (t) => {
  if (process.getuid?.() === 0) {
    t.skip('running as root: chmod 0o500 does not block writes; covered by the regular-file case');
    return;
  }
  const dir = await fresh();
  await chmod(dir, 0o500);
  try {
    await assert.rejects(ensureWritableDir(dir), isIoError(/^cannot write to output directory .*: permission denied \(EACCES\)$/));
  } finally {
    await chmod(dir, 0o700);
  }
});
