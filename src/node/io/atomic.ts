/**
 * Crash-safe writes: a reader sees either the old content or the new, never a
 * half-written file or directory.
 *
 * Files: write a temp sibling, fsync, rename over the target (rename is atomic
 * within one file system). Directories: POSIX cannot atomically swap a
 * non-empty directory, so the old one is renamed aside first. If the process
 * dies in the moment between the two renames, the target is briefly missing
 * and the complete old copy sits beside it; `recoverDirAtomic` (called by
 * `replaceDirAtomic` itself, and by readers such as checkpoint loaders) puts
 * it back. One writer per target at a time.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ForgerError } from '../../core/errors.ts';

/** A short human reason for a failed fs call: `permission denied (EACCES)`. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'a parent of it is not a directory',
    EEXIST: 'it exists and is not a directory',
    EISDIR: 'it is a directory',
    ENOENT: 'no such file or directory',
    ENAMETOOLONG: 'name too long',
  };
  if (code && reasons[code]) return `${reasons[code]} (${code})`;
  return err instanceof Error ? err.message : String(err);
}

/** `.name.<tag>-<pid>-<random>`: hidden, and names the process that made it. */
function siblingName(target: string, tag: string): string {
  return join(dirname(target), `.${basename(target)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Persist a directory entry (a rename or a new file); not supported everywhere (Windows), so best effort. */
async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsyncFile(dir);
  } catch {
    // Directory fsync is an extra guarantee, not a requirement.
  }
}

async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(path);
    else if (entry.isFile()) await fsyncFile(path);
  }
  await fsyncDir(dir);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Write `data` to `path` so that a crash leaves the old file or the new one,
 * never a torn one. Parent directories are created.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = siblingName(path, 'tmp');
  try {
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new ForgerError('E_IO', `cannot write ${path}: ${describeFsError(e)}`, { cause: e });
  }
  await fsyncDir(dirname(path));
}

/** Leftover siblings of `finalDir` from processes that are no longer running. */
async function deadSiblings(finalDir: string, tag: 'tmp' | 'old'): Promise<string[]> {
  const prefix = `.${basename(finalDir)}.${tag}-`;
  let names: string[];
  try {
    names = await readdir(dirname(finalDir));
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && !isAlive(pid)) found.push(join(dirname(finalDir), name));
  }
  return found;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Undo what a crash during `replaceDirAtomic` left behind: if `finalDir` is
 * missing but its moved-aside old copy exists, put the old copy back; then
 * delete stale temp and old siblings. Safe to call at any time.
 */
export async function recoverDirAtomic(finalDir: string): Promise<void> {
  try {
    const olds = await deadSiblings(finalDir, 'old');
    if (olds.length > 0 && !(await exists(finalDir))) {
      // At most one old copy per crash; if several, any is a complete earlier version.
      await rename(olds.shift()!, finalDir);
      await fsyncDir(dirname(finalDir));
    }
    for (const stale of [...olds, ...(await deadSiblings(finalDir, 'tmp'))]) {
      await rm(stale, { recursive: true, force: true });
    }
  } catch (e) {
    throw new ForgerError('E_IO', `cannot recover directory ${finalDir}: ${describeFsError(e)}`, { cause: e });
  }
}

/**
 * Build a directory with `fill(tmpDir)` in a temp sibling, fsync it, then move
 * it to `finalDir`, replacing any previous one. If `fill` throws, the temp
 * directory is removed, the old `finalDir` is untouched and `fill`'s error is
 * rethrown.
 */
export async function replaceDirAtomic(finalDir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const fail = (e: unknown): ForgerError =>
    new ForgerError('E_IO', `cannot write directory ${finalDir}: ${describeFsError(e)}`, { cause: e });

  await recoverDirAtomic(finalDir);
  const parent = dirname(finalDir);
  const tmpDir = siblingName(finalDir, 'tmp');
  const st = await lstat(finalDir).catch(() => null);
  if (st && !st.isDirectory()) throw new ForgerError('E_IO', `cannot write directory ${finalDir}: it exists and is not a directory`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(tmpDir);
  } catch (e) {
    throw fail(e);
  }

  try {
    await fill(tmpDir);
  } catch (e) {
    await rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }

  const oldDir = siblingName(finalDir, 'old');
  let movedAside = false;
  try {
    await fsyncTree(tmpDir);
    if (await exists(finalDir)) {
      await rename(finalDir, oldDir);
      movedAside = true;
    }
    await rename(tmpDir, finalDir);
  } catch (e) {
    if (movedAside) await rename(oldDir, finalDir).catch(() => undefined);
    await rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    throw fail(e);
  }
  await fsyncDir(parent);
  // The new directory is in place; a failure here only leaves a hidden sibling
  // that the next recoverDirAtomic removes.
  if (movedAside) await rm(oldDir, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Create `dir` (and parents) and prove it is writable by creating and removing
 * a probe file, so a long run fails at the start rather than at its first save.
 */
export async function ensureWritableDir(dir: string): Promise<void> {
  const probe = siblingName(join(dir, 'probe'), 'write-test');
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(probe, 'wx');
    await fh.close();
    await unlink(probe);
  } catch (e) {
    throw new ForgerError('E_IO', `cannot write to output directory ${dir}: ${describeFsError(e)}`, { cause: e });
  }
}
