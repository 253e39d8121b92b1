import { isMainThread } from 'node:worker_threads';

/**
 * Decides the role of this process (or thread): a child when its environment holds a primary's
 * `STARLOG_ENDPOINT` and that primary is another process, or this is a worker thread (a worker
 * thread of the primary itself ships to the primary's receiver like any child); else a primary.
 */
export function detectRole(env: NodeJS.ProcessEnv = process.env): 'primary' | 'child' {
  if (!env.STARLOG_ENDPOINT) return 'primary';
  if (!isMainThread) return 'child';
  return env.STARLOG_PRIMARY_PID === String(process.pid) ? 'primary' : 'child';
}
