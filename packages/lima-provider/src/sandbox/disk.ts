import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Deadline of each mkfs/cp/mount/umount call. */
const STEP_TIMEOUT_MS = 30_000;

/** Files being made in this process, by path; concurrent callers share the promise. */
const pending = new Map<string, Promise<string>>();

/**
 * `file`, made once: `build(tmp)` writes a temporary file in the same directory, which is
 * renamed to `file` when it succeeds (removed when it fails), so a half-made file is never used.
 */
export function makeOnce(file: string, build: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(file)) return Promise.resolve(file);
  let p = pending.get(file);
  if (!p) {
    p = (async () => {
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        await build(tmp);
        await rename(tmp, file);
        return file;
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      } finally {
        pending.delete(file);
      }
    })();
    pending.set(file, p);
  }
  return p;
}

/**
 * A prepared, empty, sparse ext4 image of exactly `sizeGb` GiB in `dir`
 * (`ext4-<N>g.img`), made once with mkfs.ext4 and then reused: a lease's disk is a sparse
 * copy of it, so no lease runs mkfs.
 */
export function ext4Template(dir: string, sizeGb: number): Promise<string> {
  return makeOnce(join(dir, `ext4-${sizeGb}g.img`), async (tmp) => {
    await run('truncate', ['-s', `${sizeGb}G`, tmp], { timeout: STEP_TIMEOUT_MS });
    // No reserved blocks (the tenant is root anyway); lazy init keeps the image sparse.
    await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=1,lazy_journal_init=1', '-L', 'xe-root', tmp], {
      timeout: STEP_TIMEOUT_MS,
    });
  });
}

/** A template's size and its data extents (everything else is a hole). */
interface SparseImage {
  size: number;
  chunks: { offset: number; data: Buffer }[];
}

/** Templates read in this process, by path (a handful of sizes at most; bounded). */
const sparseCache = new Map<string, Promise<SparseImage>>();
const SPARSE_CACHE_MAX = 8;
/** A template with more data than this is copied with cp instead of from memory. */
const SPARSE_DATA_MAX = 64 * 1024 * 1024;

/** Reads a template's written extents (from `filefrag -e`, whose unwritten extents read as zeros). */
async function readSparse(template: string): Promise<SparseImage> {
  const { stdout } = await run('filefrag', ['-e', '-b4096', template], { timeout: STEP_TIMEOUT_MS });
  const size = (await stat(template)).size;
  const chunks: SparseImage['chunks'] = [];
  let total = 0;
  const fh = await open(template, 'r');
  try {
    for (const line of stdout.split('\n')) {
      const m = /^\s*\d+:\s+(\d+)\.\.\s*(\d+):.*?:\s*(\d+):\s*(?:\d+:)?\s*(.*)$/.exec(line);
      if (!m || m[4]!.includes('unwritten')) continue;
      const offset = Number(m[1]) * 4096;
      const length = (Number(m[2]) - Number(m[1]) + 1) * 4096;
      total += length;
      if (total > SPARSE_DATA_MAX) throw new Error('template has too much data to keep in memory');
      const data = Buffer.alloc(Math.min(length, size - offset));
      await fh.read(data, 0, data.length, offset);
      chunks.push({ offset, data });
    }
  } finally {
    await fh.close();
  }
  return { size, chunks };
}

/** Writes a sparse copy of `template` to `image`: holes stay holes, only written extents are written. */
export async function copySparse(template: string, image: string): Promise<void> {
  let p = sparseCache.get(template);
  if (!p) {
    if (sparseCache.size >= SPARSE_CACHE_MAX) sparseCache.clear();
    p = readSparse(template);
    sparseCache.set(template, p);
    p.catch(() => sparseCache.delete(template));
  }
  let img: SparseImage;
  try {
    img = await p;
  } catch {
    await run('cp', ['--sparse=always', template, image], { timeout: STEP_TIMEOUT_MS });
    return;
  }
  const fh = await open(image, 'wx', 0o600);
  try {
    await fh.truncate(img.size);
    for (const c of img.chunks) await fh.write(c.data, 0, c.data.length, c.offset);
  } finally {
    await fh.close();
  }
}

/** Copies the template sparsely to `image` and loop-mounts it (nodev) at `mountPoint`. */
export async function mountDisk(template: string, image: string, mountPoint: string): Promise<void> {
  await copySparse(template, image);
  await mkdir(mountPoint, { recursive: true });
  await run('mount', ['-o', 'loop,nodev', image, mountPoint], { timeout: STEP_TIMEOUT_MS });
}

/** True when something is mounted at `path` (per /proc/self/mountinfo). */
export async function isMounted(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const esc = path.replace(/ /g, '\\040');
  return info.split('\n').some((l) => l.split(' ')[4] === esc);
}

/** Unmounts `mountPoint` if mounted (lazily when busy); the loop device goes with it (autoclear). */
export async function unmountDisk(mountPoint: string): Promise<void> {
  if (!(await isMounted(mountPoint))) return;
  try {
    await run('umount', [mountPoint], { timeout: STEP_TIMEOUT_MS });
  } catch {
    await run('umount', ['-l', mountPoint], { timeout: STEP_TIMEOUT_MS });
  }
}
