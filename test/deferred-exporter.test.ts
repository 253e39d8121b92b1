/**
 * The child's gRPC exporter is made at its first export (src/export/otlp-bytes-exporter.ts,
 * `DeferredExporter`, issue 13): exports that arrive while it loads wait and go out in order,
 * nothing is dropped; a failed load goes to `diag`, fails the waiting exports with a status the
 * shipping processor retries, and the next export loads again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { DeferredExporter } from '../src/export/otlp-bytes-exporter.ts';
import { classifyExportError, type ExporterOf } from '../src/export/retry.ts';

class Recording implements ExporterOf<number> {
  readonly got: number[] = [];
  shutdowns = 0;
  export(items: number, cb: (result: ExportResult) => void): void {
    this.got.push(items);
    cb({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {
    this.shutdowns++;
  }
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('exports during the load wait and go out in order; later ones go straight through', async () => {
  const inner = new Recording();
  const load = deferred<ExporterOf<number>>();
  let makes = 0;
  const exporter = new DeferredExporter<number>(() => {
    makes++;
    return load.promise;
  });
  const results: [number, ExportResultCode][] = [];
  for (const n of [1, 2, 3]) exporter.export(n, (r) => results.push([n, r.code]));
  assert.deepEqual(inner.got, [], 'nothing may reach the exporter before it is made');
  load.resolve(inner);
  await load.promise;
  // a later export, queued behind the drain in the same turn, must not overtake
  await Promise.resolve();
  exporter.export(4, (r) => results.push([4, r.code]));
  assert.deepEqual(inner.got, [1, 2, 3, 4], 'exports were dropped or reordered');
  assert.deepEqual(
    results,
    [1, 2, 3, 4].map((n) => [n, ExportResultCode.SUCCESS]),
  );
  assert.equal(makes, 1, 'the exporter was made more than once');
  await exporter.shutdown();
  assert.equal(inner.shutdowns, 1, 'shutdown did not reach the exporter');
});

test('a failed load goes to diag, fails the waiting exports as retryable, and is tried again', async () => {
  const errors: unknown[][] = [];
  const logger: DiagLogger = {
    error: (...a) => errors.push(a),
    warn() {},
    info() {},
    debug() {},
    verbose() {},
  };
  diag.setLogger(logger, DiagLogLevel.ERROR);
  try {
    const inner = new Recording();
    let makes = 0;
    const exporter = new DeferredExporter<number>(async () => {
      makes++;
      if (makes === 1) throw new Error('Cannot find package @grpc/grpc-js');
      return inner;
    });
    const first = await Promise.all(
      [1, 2].map((n) => new Promise<ExportResult>((done) => exporter.export(n, done))),
    );
    for (const r of first) {
      assert.equal(r.code, ExportResultCode.FAILED, 'an export succeeded without an exporter');
      assert.equal(classifyExportError(r.error), 'retry', 'a failed load must be retried');
    }
    assert.equal(errors.length, 1, 'the failed load did not go to diag (once)');
    assert.match(String(errors[0]?.[0]), /could not load the OTLP\/gRPC exporter/);
    const again = await new Promise<ExportResult>((done) => exporter.export(1, done));
    assert.equal(again.code, ExportResultCode.SUCCESS, 'the retry did not load again');
    assert.equal(makes, 2);
    assert.deepEqual(inner.got, [1]);
  } finally {
    diag.disable();
  }
});

test('shutdown and forceFlush before any export load nothing', async () => {
  let makes = 0;
  const exporter = new DeferredExporter<number>(async () => {
    makes++;
    return new Recording();
  });
  await exporter.forceFlush();
  await exporter.shutdown();
  assert.equal(makes, 0, 'the exporter was made without an export');
});
