/**
 * The live view of a primary (`setupLogging({ view: true })`, config `view:`, `starlog run
 * --view`): a {@link ViewStage} in the primary's pipeline and a worker thread that indexes the
 * records into a bounded SQLite store and serves the page on 127.0.0.1 with a fresh token.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Context } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { parseDuration } from '../util/duration.ts';
import { parseSize } from '../util/size.ts';
import { removeViewRecordSync, writeViewRecord } from './live-record.ts';
import { ViewStage } from './live-stage.ts';
import type { LiveWorkerData } from './live-worker-data.ts';

/** Options of the live view (`view:` in `setupLogging()` options and the configuration file). */
export interface ViewSetupOptions {
  /** TCP port on 127.0.0.1; default 0 (any free port) */
  port?: number;
  /** upper bound of the store: bytes or a size string (`'200MB'`); default `'256MiB'` */
  maxSize?: number | string;
  /** records older than this are removed: ms or a duration string (`'1h'`); default `'1h'` */
  maxAge?: number | string;
  /**
   * records per second the view takes at most from the primary's pipeline, the rest dropped and
   * counted (shown on the page); default 60,000. Bounds the view's cost on the primary's thread
   * (~1 µs per record taken) and its indexing CPU; `0` or `Infinity`: no bound. While the
   * primary's event loop is saturated (utilization ≥ 0.9 in two 50 ms windows in a row) the view
   * takes a tenth of it (see `ViewStage`).
   */
  maxRate?: number;
  /** print the URL (with its token) to stderr; default true */
  print?: boolean;
}

/** A running live view. */
export interface LiveView {
  /** the pipeline stage that feeds it */
  readonly stage: ViewStage;
  /** the URL with its token, once {@link LiveView.connect} resolved */
  url: string | undefined;
  /** A processor that forwards to `next` and to the view (for status records). */
  tee(next: LogRecordProcessor): LogRecordProcessor;
  /**
   * Tells the view where the primary's receiver is (for level changes), waits until the server
   * listens, records it in `<cwd>/.starlog/view.json` and prints the URL.
   *
   * @returns the URL with the token
   * @throws (rejects) when the worker could not start its server
   */
  connect(target: { endpoint: string; token: string }, cwd?: string): Promise<string>;
  /** Stops the server and the worker, removes the store. Never throws. */
  close(): Promise<void>;
}

function workerUrl(): URL {
  const own = import.meta.url;
  return new URL(own.endsWith('.ts') ? './live-worker.ts' : './live-worker.js', own);
}

/**
 * Starts the worker (the server listens shortly after).
 *
 * @throws Error for an invalid `maxSize` or `maxAge`
 */
export function startLiveView(options: ViewSetupOptions = {}): LiveView {
  const maxBytes = parseSize(options.maxSize ?? '256MiB');
  if (maxBytes === undefined) {
    throw new Error(
      `starlog: view.maxSize must be a size like '256MiB'; got ${String(options.maxSize)}`,
    );
  }
  const maxAgeMs = parseDuration(options.maxAge ?? '1h', 'view.maxAge');
  const dir = mkdtempSync(join(tmpdir(), 'starlog-view-'));
  const data: LiveWorkerData = { dir, port: options.port, maxBytes, maxAgeMs };
  const worker = new Worker(workerUrl(), { workerData: data });
  worker.unref();
  const stage = new ViewStage(worker, { maxRate: options.maxRate });
  let recordCwd: string | undefined;
  const ready = new Promise<string>((resolve, reject) => {
    const onMessage = (m: { type?: string; url?: string; message?: string }) => {
      if (m?.type === 'ready' && m.url) resolve(m.url);
      else if (m?.type === 'error') diag.error(`starlog view: indexing failed: ${m.message}`);
    };
    worker.on('message', onMessage);
    worker.once('error', (err) => {
      diag.error('starlog view: the view worker failed', err);
      reject(err);
    });
    worker.once('exit', () => reject(new Error('starlog view: the view worker exited')));
  });
  ready.catch(() => undefined);
  // whatever way the process ends, the token file and the temporary store go with it
  const onExit = () => {
    if (recordCwd !== undefined) removeViewRecordSync(recordCwd);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let closing: Promise<void> | undefined;
  const view: LiveView = {
    stage,
    url: undefined,
    tee(next) {
      return {
        onEmit(record: ReadWriteLogRecord, context?: Context) {
          next.onEmit(record, context);
          stage.onEmit(record);
        },
        forceFlush: () => next.forceFlush(),
        shutdown: () => next.shutdown(),
      };
    },
    async connect(target, cwd = process.cwd()) {
      worker.postMessage({ type: 'levels', ...target });
      const url = await ready;
      view.url = url;
      try {
        await writeViewRecord(url, cwd);
        recordCwd = cwd;
      } catch (err) {
        diag.warn(`starlog view: could not record the view in ${cwd}/.starlog`, err);
      }
      if (options.print !== false) process.stderr.write(`starlog view: ${url}\n`);
      return url;
    },
    close() {
      closing ??= (async () => {
        try {
          await stage.shutdown();
          const closed = new Promise<void>((resolve) => {
            worker.on('message', (m: { type?: string }) => {
              if (m?.type === 'closed') resolve();
            });
            worker.once('exit', () => resolve());
          });
          worker.postMessage({ type: 'close' });
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            closed,
            new Promise<void>((r) => {
              timer = setTimeout(r, 2000);
            }),
          ]);
          clearTimeout(timer);
          await worker.terminate();
        } catch (err) {
          diag.error('starlog view: closing failed', err);
        } finally {
          process.removeListener('exit', onExit);
          onExit();
        }
      })();
      return closing;
    },
  };
  return view;
}
