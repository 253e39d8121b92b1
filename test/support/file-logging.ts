/**
 * starlog set up in the test process itself (a single-process app, i.e. a primary) writing a
 * JSON-lines file in a fresh temporary directory: registers `before`/`after` hooks on the current
 * test file (set-up; shutdown, then the directory removed) and returns a reader of the records
 * written so far (after a `forceFlush`) and the set-up's handle.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type LoggingHandle, setupLogging } from '../../src/index.ts';
import { type FileRecord, fileRecords } from './jsonl.ts';

export function fileLogging(serviceName: string): {
  records: () => Promise<FileRecord[]>;
  handle: () => LoggingHandle;
} {
  const dir = mkdtempSync(join(tmpdir(), `starlog-${serviceName}-`));
  const file = join(dir, 'records.jsonl');
  let handle: LoggingHandle;
  before(async () => {
    handle = await setupLogging({
      serviceName,
      levels: 'info',
      status: false,
      console: false,
      config: false,
      file: { path: file },
    });
  });
  after(async () => {
    await handle.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    records: async () => {
      await handle.forceFlush();
      return fileRecords(file);
    },
    handle: () => handle,
  };
}
