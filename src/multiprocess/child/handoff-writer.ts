/**
 * The child's side of hand-off files (format and rules: `protocol/handoff.ts`): writes encoded
 * OTLP requests synchronously into the primary's hand-off directory, for the exit hook.
 *
 * @module
 */
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  renameSync,
  unlinkSync,
  writevSync,
} from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import {
  frameHandoff,
  HANDOFF_OPEN_NOFOLLOW,
  type HandoffRequest,
  handoffDirProblem,
  statProblem,
} from '../protocol/handoff.ts';

/**
 * Runs the writer's file-system calls once on `/dev/null` (about 0.1 ms), so that their first
 * use at exit, on a busy machine, does not pay Node's lazy initialisation (measured: the first
 * `writevSync` of a process 5–17 ms, the next ones 0.1 ms). Never throws.
 */
export function warmHandoffWriter(): void {
  try {
    const fd = openSync('/dev/null', constants.O_WRONLY | HANDOFF_OPEN_NOFOLLOW);
    try {
      fstatSync(fd);
      writevSync(fd, frameHandoff([new Uint8Array(1)]) as NodeJS.ArrayBufferView[]);
    } finally {
      closeSync(fd);
    }
  } catch {
    // no /dev/null (Windows): the first write pays its own start-up
  }
}

/** Outcome of {@link writeHandoffSync}. */
export type HandoffWriteResult =
  | { ok: true; path: string; bytes: number; elapsedMs: number }
  | { ok: false; reason: string; elapsedMs: number };

/**
 * Writes `requests` (serialized `ExportLogsServiceRequest`s, in order; each one buffer or the
 * parts of one) as one hand-off file in
 * `dir`: checks the directory (a real directory of the effective user, not writable by others),
 * creates a temporary file (`O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600), writes everything in
 * one `writev`, closes it and renames it to its final name. No `fsync`: the file must survive
 * the process, not the machine. Blocks the calling thread for the writes only (microseconds for
 * the usual few KB). Never throws: a failure returns the reason and removes the temporary file.
 * `to`: the pid of the primary the file is addressed to (no other live primary takes it).
 */
export function writeHandoffSync(
  dir: string,
  requests: readonly HandoffRequest[],
  to?: number,
): HandoffWriteResult {
  const t0 = performance.now();
  const fail = (reason: string): HandoffWriteResult => ({
    ok: false,
    reason,
    elapsedMs: performance.now() - t0,
  });
  const problem = handoffDirProblem(dir);
  if (problem !== undefined) return fail(`hand-off directory ${dir} refused: ${problem}`);
  const name = `handoff-${process.pid}-${threadId}-${Date.now()}-${Math.floor(
    Math.random() * 0x1_0000_0000,
  )
    .toString(16)
    .padStart(8, '0')}${to === undefined ? '' : `.to-${to}`}.otlp`;
  const path = join(dir, name);
  const tmp = join(dir, `.${name}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | HANDOFF_OPEN_NOFOLLOW,
      0o600,
    );
    const own = statProblem(fstatSync(fd), 'file');
    if (own !== undefined) throw new Error(own);
    const chunks = frameHandoff(requests);
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    let written = writevSync(fd, chunks as NodeJS.ArrayBufferView[]);
    if (written < total) {
      // a short write (rare on a regular file): the rest piece by piece
      let skip = written;
      for (const c of chunks) {
        if (skip >= c.byteLength) {
          skip -= c.byteLength;
          continue;
        }
        let rest = c.subarray(skip);
        skip = 0;
        while (rest.byteLength > 0) {
          const n = writevSync(fd, [rest]);
          written += n;
          rest = rest.subarray(n);
        }
      }
    }
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    return { ok: true, path, bytes: written, elapsedMs: performance.now() - t0 };
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already reported below
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // not created
    }
    return fail(`could not write ${path}: ${(err as Error).message}`);
  }
}
