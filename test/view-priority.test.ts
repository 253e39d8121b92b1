// The live view's worker thread lowers its own CPU priority (src/view/live-worker.ts): on Linux the
// nice value is per thread, so the view's worker thread (and any thread it starts afterwards) runs
// at nice 10 while the main thread, libuv's thread pool and V8's platform threads keep theirs.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { startLiveView } from '../src/view/live.ts';
import { VIEW_WORKER_NICE } from '../src/view/live-worker-data.ts';

/** Name (`comm`) and nice value (field 19 of /proc/self/task/TID/stat) of each thread, by tid. */
function niceByThread(): Map<number, { name: string; nice: number }> {
  const out = new Map<number, { name: string; nice: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      // after "(comm) " come fields 3, 4, …: field 19 is at index 16
      out.set(Number(tid), {
        name,
        nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]),
      });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Threads that serve the whole process (the primary's work): they must keep their priority. */
const SHARED_THREADS = new Set(['MainThread', 'libuv-worker', 'V8Worker', 'DelayedTaskSche']);

test("only the view worker's threads run at a lower priority", {
  skip: process.platform !== 'linux' && 'per-thread nice values are a Linux feature',
}, async () => {
  const before = niceByThread();
  const cwd = mkdtempSync(join(tmpdir(), 'starlog-view-priority-'));
  const view = startLiveView({ print: false });
  try {
    // resolves once the worker (loaded after it reniced its thread) listens
    await view.connect({ endpoint: 'unix:/nonexistent', token: 'x' }, cwd);
    const after = niceByThread();
    const threads = JSON.stringify([...after]);
    const lowered = [...after].filter(([tid, t]) => t.nice !== (before.get(tid)?.nice ?? 0));
    // the view's worker thread, and any thread it started after lowering its own priority (a
    // new thread inherits its creator's nice value), at VIEW_WORKER_NICE
    assert.ok(
      lowered.some(([, t]) => t.name === 'WorkerThread'),
      `the view's worker thread runs at nice ${VIEW_WORKER_NICE} (threads: ${threads})`,
    );
    assert.ok(
      lowered.every(([, t]) => t.nice === VIEW_WORKER_NICE && !SHARED_THREADS.has(t.name)),
      `only the view's threads changed, to nice ${VIEW_WORKER_NICE} (threads: ${threads})`,
    );
    assert.equal(
      after.get(process.pid)?.nice,
      before.get(process.pid)?.nice,
      'the main thread is unchanged',
    );
  } finally {
    await view.close();
    rmSync(cwd, { recursive: true, force: true });
  }
});
