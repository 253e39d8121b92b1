/**
 * How `starlog view` (without files) finds the live view of the primary started from a directory:
 * a primary serving a view writes `<cwd>/.starlog/view.json` (`{ "url", "pid" }`, mode 0600: the
 * URL holds the token) next to the primary record (`primary-record.ts`) and removes it on
 * shutdown.
 *
 * @module
 */
import { readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIMARY_RECORD_DIR, readPrimaryRecord } from '../multiprocess/control/primary-record.ts';

/** File name of the record inside `.starlog/`. */
export const VIEW_RECORD_FILE = 'view.json';

function viewRecordPath(cwd: string): string {
  return join(cwd, PRIMARY_RECORD_DIR, VIEW_RECORD_FILE);
}

/** Writes the record (atomically, 0600). @throws the file-system error */
export async function writeViewRecord(url: string, cwd: string, pid = process.pid): Promise<void> {
  const dir = join(cwd, PRIMARY_RECORD_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = viewRecordPath(cwd);
  const tmp = `${path}.${pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ url, pid })}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Removes the record if it is this process's. Never throws. */
export function removeViewRecordSync(cwd: string, pid = process.pid): void {
  const path = viewRecordPath(cwd);
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown };
    if (r.pid === pid) rmSync(path, { force: true });
  } catch {
    // absent or unreadable: nothing to remove
  }
}

/** The outcome of {@link findLiveView}. */
export type LiveViewLookup = { ok: true; url: string; pid: number } | { ok: false; reason: string };

/**
 * The URL of the live view of the primary recorded for `cwd`. Never throws.
 *
 * @returns `{ ok: false, reason }` when no primary runs there, or it serves no view
 */
export async function findLiveView(cwd: string): Promise<LiveViewLookup> {
  const primary = await readPrimaryRecord(cwd);
  if (!primary.ok) return { ok: false, reason: primary.reason };
  const pid = primary.record.pid;
  try {
    const r = JSON.parse(await readFile(viewRecordPath(cwd), 'utf8')) as {
      url?: unknown;
      pid?: unknown;
    };
    if (r.pid === pid && typeof r.url === 'string') return { ok: true, url: r.url, pid };
  } catch {
    // no record: fall through
  }
  return {
    ok: false,
    reason: `the primary (pid ${pid}) serves no view: start it with 'starlog run --view', setupLogging({ view: true }) or 'view: true' in its configuration`,
  };
}
