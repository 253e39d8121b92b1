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
