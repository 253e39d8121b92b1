// The live view's worker thread lowers its own CPU priority (src/view/live-worker.ts): on Linux the
// nice value is per thread, so exactly one thread of the process (the view's worker) runs at
// nice 10 and the main thread keeps its priority.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { startLiveView } from '../src/view/live.ts';
import { VIEW_WORKER_NICE } from '../src/view/live-worker-data.ts';

/** Nice value of each thread of this process (field 19 of /proc/self/task/TID/stat), by tid. */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // after "(comm) " come fields 3, 4, …: field 19 is at index 16
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

test('only the view worker thread runs at a lower priority', {
  skip: process.platform !== 'linux' && 'per-thread nice values are a Linux feature',
}, async () => {
  const before = niceByThread();
  const cwd = mkdtempSync(join(tmpdir(), 'starlog-view-priority-'));
  const view = startLiveView({ print: false });
  try {
    // resolves once the worker (loaded after it reniced its thread) listens
    await view.connect({ endpoint: 'unix:/nonexistent', token: 'x' }, cwd);
    const after = niceByThread();
    const lowered = [...after].filter(([tid, nice]) => nice !== (before.get(tid) ?? 0));
    assert.deepEqual(
      lowered.map(([, nice]) => nice),
      [VIEW_WORKER_NICE],
      `one new thread at nice ${VIEW_WORKER_NICE} (threads: ${JSON.stringify([...after])})`,
    );
    assert.equal(after.get(process.pid), before.get(process.pid), 'the main thread is unchanged');
  } finally {
    await view.close();
    rmSync(cwd, { recursive: true, force: true });
  }
});
