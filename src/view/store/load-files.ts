/**
 * Indexes OTLP/JSON lines files (starlog's `JsonlFileExporter`, the Collector's `file` exporter)
 * into a {@link ViewStore}, through the tree viewer's streaming reader (`src/tree/read.ts`).
 *
 * @module
 */
import { type ParsedRecord, type ReadStats, readOtlpJsonLines } from '../../tree/read.ts';
import type { ViewRow } from './row.ts';
import type { ViewStore } from './store.ts';

/** What {@link loadFiles} read, per file. */
export interface LoadResult {
  files: { path: string; stats?: ReadStats; error?: string }[];
  records: number;
}

/** Converts the reader's record to a store row. */
export function rowFromParsed(r: ParsedRecord, proc: number): ViewRow {
  const row: ViewRow = { t: r.timeMs, sev: r.severity, proc, body: r.body };
  if (r.logger !== undefined) row.logger = r.logger;
  if (r.traceId !== undefined) row.trace = r.traceId;
  if (r.spanId !== undefined) row.span = r.spanId;
  if (r.taskId !== undefined) row.task = r.taskId;
  if (r.taskName !== undefined) row.tname = r.taskName;
  if (r.outcome !== undefined) row.outcome = r.outcome;
  if (r.durationMs !== undefined) row.dur = r.durationMs;
  if (r.exception !== undefined) row.exc = r.exception;
  if (r.stack !== undefined) row.stack = r.stack;
  if (r.attributes !== undefined) row.attrs = r.attributes;
  return row;
}

/**
 * Reads every file into `store` (batches of 5,000 records). A file that cannot be read is
 * reported in the result, the others are still read; malformed lines are skipped (counted).
 *
 * @param maxBody characters kept per body; default 2000
 */
export async function loadFiles(
  store: ViewStore,
  paths: readonly string[],
  maxBody = 2000,
): Promise<LoadResult> {
  const result: LoadResult = { files: [], records: 0 };
  const keys = new Map<string, number>();
  let batch: ViewRow[] = [];
  const sink = {
    resource(fileIndex: number, info: { pid?: string; service?: string; host?: string }) {
      const k = `${fileIndex}\u0000${info.pid}\u0000${info.service}\u0000${info.host}`;
      let key = keys.get(k);
      if (key === undefined) {
        key = keys.size + 1;
        keys.set(k, key);
        store.addProcess({ key, pid: info.pid, service: info.service, host: info.host });
      }
      return key;
    },
    record(proc: number, r: ParsedRecord) {
      batch.push(rowFromParsed(r, proc));
      if (batch.length >= 5000) {
        store.add(batch);
        batch = [];
      }
    },
  };
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i]!;
    try {
      const stats = await readOtlpJsonLines(path, i, sink, { maxBody, attributes: true });
      result.files.push({ path, stats });
      result.records += stats.records;
    } catch (err) {
      result.files.push({ path, error: (err as Error).message });
    }
  }
  store.add(batch);
  return result;
}
