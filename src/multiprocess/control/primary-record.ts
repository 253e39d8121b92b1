/**
 * The primary record: how `starlog level` (and any other local tool) finds the primary started
 * from a directory. A primary (`starlog run` or `setupLogging()`) writes
 * `<cwd>/.starlog/primary.json`:
 *
 * ```json
 * { "endpoint": "unix:///tmp/starlog-abc/receiver.sock", "token": "9f…", "pid": 4242,
 *   "startedAt": "2025-01-01T12:00:00.000Z" }
 * ```
 *
 * The directory is created with mode 0700 and the file with mode 0600 (it holds the token, which
 * lets its reader ship records to the primary and change its levels). A `.starlog` that is a
 * symbolic link, not a directory, or owned by another user (root included) is refused with a
 * message and nothing is written; the file is created with `O_EXCL | O_NOFOLLOW`. The file is written to a
 * temporary name and renamed, so readers never see half a record. The primary removes it on
 * shutdown (only if it is still its own record).
 *
 * @module
 */

import { constants, readFileSync, rmSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { diag } from '@opentelemetry/api';
import { effectiveUid } from '../../util/effective-uid.ts';

/** Directory of the record, relative to the primary's working directory. */
export const PRIMARY_RECORD_DIR = '.starlog';
/** File name of the record inside {@link PRIMARY_RECORD_DIR}. */
export const PRIMARY_RECORD_FILE = 'primary.json';

/** What a primary records about itself. */
export interface PrimaryRecord {
  /** the receiver's gRPC target (`receiver.endpoint`) */
  endpoint: string;
  /** the receiver token (hex) */
  token: string;
  /** `process.pid` of the primary */
  pid: number;
  /** when the primary started, ISO 8601 */
  startedAt: string;
}

/** The outcome of {@link readPrimaryRecord}. */
export type PrimaryRecordLookup =
  | { ok: true; path: string; record: PrimaryRecord }
  | { ok: false; path: string; reason: string };

/** The path of the record for a directory. */
export function primaryRecordPath(cwd: string = process.cwd()): string {
  return join(cwd, PRIMARY_RECORD_DIR, PRIMARY_RECORD_FILE);
}

/** Whether a process with this pid exists (EPERM counts as alive: it belongs to another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes the record for `cwd` (default `process.cwd()`): creates `.starlog/` (0700), writes
 * `primary.json` (0600) atomically. Replaces a record left by a primary that is gone; replaces a
 * live primary's record too, with a `diag.warn` (the newest primary of a directory wins).
 *
 * @returns the path written
 * @throws the file-system error when the directory or file cannot be written
 */
export async function writePrimaryRecord(
  record: { endpoint: string; token: string; pid?: number; startedAt?: string | Date },
  cwd: string = process.cwd(),
): Promise<string> {
  const full: PrimaryRecord = {
    endpoint: record.endpoint,
    token: record.token,
    pid: record.pid ?? process.pid,
    startedAt:
      record.startedAt instanceof Date
        ? record.startedAt.toISOString()
        : (record.startedAt ?? new Date().toISOString()),
  };
  const dir = join(cwd, PRIMARY_RECORD_DIR);
  await ownPrivateDirectory(dir);
  const path = primaryRecordPath(cwd);
  const previous = await readPrimaryRecord(cwd);
  if (previous.ok && previous.record.pid !== full.pid) {
    diag.warn(
      `starlog: replacing the record of another live primary (pid ${previous.record.pid}) in ${path}`,
    );
  }
  const tmp = `${path}.${process.pid}.tmp`;
  // O_EXCL | O_NOFOLLOW: never write through a planted file or symlink
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let handle: FileHandle;
  try {
    handle = await open(tmp, flags, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await rm(tmp, { force: true }); // a leftover (or planted) name: the entry itself goes, not its target
    handle = await open(tmp, flags, 0o600);
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${JSON.stringify(full, null, 2)}\n`, 'utf8');
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  return path;
}

/**
 * Creates (0700) or checks `<cwd>/.starlog` with the rules of {@link writePrimaryRecord} (a real
 * directory of the effective user) and returns its path: the primary's hand-off directory too
 * (`protocol/handoff.ts`).
 * @throws Error naming the directory when it is refused, or the file-system error
 */
export async function ensureRecordDirectory(cwd: string = process.cwd()): Promise<string> {
  const dir = join(cwd, PRIMARY_RECORD_DIR);
  await ownPrivateDirectory(dir);
  return dir;
}

/**
 * Makes sure `dir` is a real directory (not a symlink) owned by the effective user with mode
 * 0700, creating it if missing. Refuses (throws) a symlink, a non-directory, or a directory of
 * another user, as root too: a `.starlog` planted in a shared (1777) working directory must not
 * receive the token.
 */
async function ownPrivateDirectory(dir: string): Promise<void> {
  const refuse = (why: string): never => {
    throw new Error(
      `starlog: refusing ${dir}: ${why}; the primary record (with its token) was not written`,
    );
  };
  let st = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (st === undefined) {
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    st = await lstat(dir);
  }
  if (st.isSymbolicLink()) refuse('it is a symbolic link');
  if (!st.isDirectory()) refuse('it is not a directory');
  const me = effectiveUid();
  if (me !== undefined && st.uid !== me)
    refuse(`it belongs to uid ${st.uid}, not to this user (uid ${me})`);
  // chmod through a descriptor opened without following links: never the target of a swapped link
  const fd = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const now = await fd.stat();
    if (!now.isDirectory() || (me !== undefined && now.uid !== me))
      refuse('it changed while being checked');
    if ((now.mode & 0o777) !== 0o700) await fd.chmod(0o700);
  } finally {
    await fd.close();
  }
}

/**
 * Reads the record of `cwd` (default `process.cwd()`). Only that directory is looked at (not its
 * parents).
 *
 * @returns `{ ok: true, record }`, or `{ ok: false, reason }` with a one-line reason when there is
 *   no record, it is malformed, or its primary (pid) is no longer running. Never throws.
 */
export async function readPrimaryRecord(cwd: string = process.cwd()): Promise<PrimaryRecordLookup> {
  const path = primaryRecordPath(cwd);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      path,
      reason:
        code === 'ENOENT'
          ? `no starlog primary recorded for ${cwd} (${path} does not exist; start one with 'starlog run' or setupLogging(), or pass --endpoint)`
          : `cannot read ${path}: ${(err as Error).message}`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, path, reason: `${path} is not valid JSON` };
  }
  const r = value as Partial<PrimaryRecord> | null;
  if (
    r === null ||
    typeof r !== 'object' ||
    typeof r.endpoint !== 'string' ||
    r.endpoint === '' ||
    typeof r.token !== 'string' ||
    typeof r.pid !== 'number' ||
    !Number.isSafeInteger(r.pid) ||
    r.pid <= 0 ||
    typeof r.startedAt !== 'string'
  ) {
    return { ok: false, path, reason: `${path} is not a starlog primary record` };
  }
  if (!pidAlive(r.pid)) {
    return {
      ok: false,
      path,
      reason: `stale record: the primary recorded in ${path} (pid ${r.pid}, started ${r.startedAt}) is no longer running (nothing was signalled; the next primary started here replaces the record)`,
    };
  }
  return {
    ok: true,
    path,
    record: { endpoint: r.endpoint, token: r.token, pid: r.pid, startedAt: r.startedAt },
  };
}

/**
 * Removes the record of `cwd` if it belongs to `pid` (default this process), so that a primary
 * never removes the record of a newer one. Never throws (a failure is reported through `diag`).
 *
 * @returns whether a record was removed
 */
export async function removePrimaryRecord(
  cwd: string = process.cwd(),
  pid: number = process.pid,
): Promise<boolean> {
  const path = primaryRecordPath(cwd);
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown };
    if (r?.pid !== pid) return false;
    await rm(path, { force: true });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      diag.warn(`starlog: could not remove the primary record ${path}`, err);
    }
    return false;
  }
}

/**
 * Synchronous {@link removePrimaryRecord}, for `process.on('exit')` handlers. Never throws.
 *
 * @returns whether a record was removed
 */
export function removePrimaryRecordSync(
  cwd: string = process.cwd(),
  pid: number = process.pid,
): boolean {
  const path = primaryRecordPath(cwd);
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown };
    if (r?.pid !== pid) return false;
    rmSync(path, { force: true });
    return true;
  } catch {
    return false;
  }
}
