/**
 * Entry of the live view's worker thread: lowers this thread's CPU priority FIRST, then loads the
 * worker itself (`live-worker-main.ts`: the store, the server), so that loading and compiling
 * those modules already runs at the lower priority.
 *
 * The view is best effort: on Linux this thread runs at nice 10 (the nice value is per thread
 * there: only this thread changes, not the primary's main thread nor the children), so that under
 * contention the primary's own work comes first and indexing catches up when there is room; when
 * it falls behind, the stage drops and counts (see ViewStage). Not 19: the page must still answer
 * on a busy machine. Elsewhere, or not allowed: normal priority.
 *
 * Side effects only: never import it (its types and constants are in `live-worker-data.ts`).
 *
 * @module
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { VIEW_WORKER_NICE } from './live-worker-data.ts';

try {
  // this thread's id (/proc/thread-self -> /proc/PID/task/TID); setPriority(0) would do the same
  // on Linux, the id says so explicitly
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, VIEW_WORKER_NICE);
} catch {
  // not Linux, or not allowed: normal priority
}
await import('./live-worker-main.ts');
