/**
 * What the live view's worker thread (`live-worker.ts`) is started with, and its priority.
 *
 * @module
 */

/** What the worker is started with. */
export interface LiveWorkerData {
  dir: string;
  port?: number;
  maxBytes: number;
  maxAgeMs: number;
  title?: string;
}

/** The nice value of the view's worker thread. */
export const VIEW_WORKER_NICE = 10;
