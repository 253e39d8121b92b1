/**
 * Hand-off files: how a child on the primary's machine delivers what it still holds when it
 * exits (`process.exit()`, an uncaught exception, the end of a worker thread), without a network
 * round trip. The exit hook writes the queued OTLP requests synchronously into a file in the
 * primary's hand-off directory (`STARLOG_HANDOFF_DIR`: the primary's `.starlog/`, or the private
 * socket directory of a bare receiver); the primary ingests the file like an `Export` call and
 * deletes it. A write takes microseconds even on busy cores, where a gRPC round trip at exit
 * (a thread, a connection, an answer) may not finish within its bound.
 *
 * Format (version 1): the ASCII bytes {@link HANDOFF_MAGIC}, then each request as a gRPC
 * length-prefixed message (1 byte flag 0 = uncompressed, 4 bytes big-endian length, then a
 * serialized `opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest`), in the order the
 * child queued them. Each request of a starlog child ends with its drop report (batch id and
 * cumulative drop counts, `drop-report.ts`), so a batch that also arrived over gRPC (it was in
 * flight at exit) is ingested once.
 *
 * Name: `handoff-<pid>-<threadId>-<ms since epoch>-<8 hex random>.otlp`, written first under the
 * same name with a leading `.` and `.tmp` appended, then renamed (a reader never sees half a
 * file). Directory: a real directory (not a symbolic link) owned by the effective user, not
 * writable by group or others; files mode 0600, created with `O_EXCL | O_NOFOLLOW`.
 *
 * @module
 */
import { constants, lstatSync, type Stats } from 'node:fs';
import { effectiveUid } from '../../util/effective-uid.ts';

/** Environment variable naming the primary's hand-off directory (absolute path). */
export const HANDOFF_DIR_ENV = 'STARLOG_HANDOFF_DIR';

/** First bytes of every hand-off file. */
export const HANDOFF_MAGIC = Buffer.from('starlog-handoff-1\n', 'latin1');

/**
 * Names of complete hand-off files (temporary and claimed names never match):
 * `handoff-<pid>-<thread>-<ms>-<random>.otlp`, or with `.to-<primary pid>` before `.otlp` for a
 * file addressed to one primary (offloaded while the child runs: see `export/handoff-offload.ts`),
 * which no other live primary takes.
 */
export const HANDOFF_NAME = /^handoff-(\d+)-(\d+)-(\d+)-[0-9a-f]{8}(?:\.to-(\d+))?\.otlp$/;

/** Flags of every open of a hand-off file: never through a symbolic link, never a FIFO's wait. */
export const HANDOFF_OPEN_NOFOLLOW = constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Why `dir` cannot serve as a hand-off directory (`undefined` when it can): it must be a real
 * directory (not a symbolic link) owned by the effective user and not writable by group or
 * others. Never throws.
 */
export function handoffDirProblem(dir: string): string | undefined {
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (err) {
    return `cannot stat it: ${(err as Error).message}`;
  }
  return statProblem(st, 'directory');
}

/** Why `st` is not an acceptable hand-off directory or file (see {@link handoffDirProblem}). */
export function statProblem(st: Stats, kind: 'directory' | 'file'): string | undefined {
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (kind === 'directory' ? !st.isDirectory() : !st.isFile()) return `it is not a ${kind}`;
  const me = effectiveUid();
  if (me !== undefined && st.uid !== me) return `it belongs to uid ${st.uid}, not uid ${me}`;
  if ((st.mode & 0o022) !== 0) return 'it is writable by group or others';
  return undefined;
}

/**
 * A request for {@link frameHandoff}: its bytes, or parts whose concatenation is the message (a
 * batch and the drop report appended to it, written without copying them into one buffer).
 */
export type HandoffRequest = Uint8Array | readonly Uint8Array[];

/** Frames requests as a hand-off file's content: the magic, then each length-prefixed message. */
export function frameHandoff(requests: readonly HandoffRequest[]): Uint8Array[] {
  const out: Uint8Array[] = [HANDOFF_MAGIC];
  for (const r of requests) {
    const head = Buffer.alloc(5);
    out.push(head);
    if (r instanceof Uint8Array) {
      head.writeUInt32BE(r.byteLength, 1);
      out.push(r);
      continue;
    }
    let length = 0;
    for (const part of r) {
      length += part.byteLength;
      out.push(part);
    }
    head.writeUInt32BE(length, 1);
  }
  return out;
}

/**
 * The requests of a hand-off file's content.
 * @throws Error naming the offset when the magic, a flag or a length is wrong (a truncated or
 *   foreign file)
 */
export function unframeHandoff(bytes: Buffer): Buffer[] {
  if (
    bytes.length < HANDOFF_MAGIC.length ||
    !bytes.subarray(0, HANDOFF_MAGIC.length).equals(HANDOFF_MAGIC)
  ) {
    throw new Error('not a starlog hand-off file (wrong magic)');
  }
  const out: Buffer[] = [];
  let pos = HANDOFF_MAGIC.length;
  while (pos < bytes.length) {
    if (bytes.length - pos < 5) throw new Error(`truncated frame header at byte ${pos}`);
    if (bytes[pos] !== 0) throw new Error(`unsupported frame flag ${bytes[pos]} at byte ${pos}`);
    const len = bytes.readUInt32BE(pos + 1);
    pos += 5;
    if (bytes.length - pos < len)
      throw new Error(`truncated request of ${len} bytes at byte ${pos}`);
    out.push(bytes.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}
