import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { HTTP_SCOPE_NAME, TASK_SCOPE_NAME } from '../../semconv.ts';

/** Attribute keys of task records (as `ATTR_TASK_ID`/`ATTR_TASK_OUTCOME` in src/tasks/task.ts). */
const ATTR_TASK_ID = 'task.id';
const ATTR_TASK_OUTCOME = 'task.outcome';

/*
 * How the lookback buffer sees that a request ended well without a tracer: the exit record of
 * its root task (the task records' contract, src/tasks/task.ts, also read by the tree viewer).
 */

/**
 * Whether `record` is the exit record of a root task that succeeded: scope `starlog.task` (or
 * `starlog.http`, the access record that ends an automatic request task),
 * `task.outcome: 'success'` and a `task.id` without `/` (a subtask's id is `<root>/<n>...`, see
 * src/tasks/ids.ts). Costs a string comparison for other records. Never throws on odd records.
 */
export function isRootTaskSuccess(record: ReadableLogRecord): boolean {
  if (!isTaskEndScope(record.instrumentationScope.name)) return false;
  const attributes = record.attributes;
  if (attributes === undefined || attributes[ATTR_TASK_OUTCOME] !== 'success') return false;
  const id = attributes[ATTR_TASK_ID];
  return typeof id === 'string' && !id.includes('/');
}

/** Whether records of this scope can end a task: `starlog.task` and `starlog.http` (access records). */
export function isTaskEndScope(name: string): boolean {
  return name === TASK_SCOPE_NAME || name === HTTP_SCOPE_NAME;
}
