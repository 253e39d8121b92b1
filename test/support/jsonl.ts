/** Reading a JSON-lines file (one OTLP/JSON `ExportLogsServiceRequest` per line) in tests. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';

/** The string bodies of every record in `file`, in file order; fails when the file is missing. */
export function fileBodies(file: string): string[] {
  assert.ok(existsSync(file), `${file} was not written`);
  const out: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    for (const rl of JSON.parse(line).resourceLogs)
      for (const sl of rl.scopeLogs) for (const r of sl.logRecords) out.push(r.body.stringValue);
  }
  return out;
}

/** One record of a JSON-lines file, as the in-process tests compare them. */
export interface FileRecord {
  scope: string;
  body: string;
  severityText: string;
  /** `''` when the record has none */
  traceId: string;
  /** values unwrapped from their AnyValue; `intValue` (a string in OTLP/JSON) as a number */
  attributes: Record<string, unknown>;
}

/** Every record in `file`, in file order (see {@link FileRecord}); fails when the file is missing. */
export function fileRecords(file: string): FileRecord[] {
  assert.ok(existsSync(file), `${file} was not written`);
  const out: FileRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    for (const rl of JSON.parse(line).resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const r of sl.logRecords) {
          const attributes: Record<string, unknown> = {};
          for (const a of r.attributes ?? []) {
            const v = Object.values(a.value)[0];
            attributes[a.key] = 'intValue' in a.value ? Number(v) : v;
          }
          out.push({
            scope: sl.scope.name,
            body: r.body?.stringValue,
            severityText: r.severityText,
            traceId: r.traceId ?? '',
            attributes,
          });
        }
  }
  return out;
}
