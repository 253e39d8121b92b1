/**
 * Worker thread of the synchronous export (see `sync-export.ts`): sends already encoded OTLP
 * `ExportLogsServiceRequest`s as gRPC unary calls while the main thread waits in
 * `Atomics.wait`. Results go back through the job's SharedArrayBuffer (Int32 cells):
 * `[0]` 0 = running, 1 = done; `[1 + i]` request i: 0 = no answer, 1 = acknowledged, 2 = failed,
 * 3 = the receiver is busy (backpressure: send again).
 *
 * The worker is plain JavaScript evaluated from {@link SYNC_EXPORT_WORKER_SOURCE} and speaks
 * gRPC over Node's own `node:http2` (a POST of the length-prefixed message, the status in the
 * trailers): it loads no module from disk (no grpc-js, no TypeScript), so it starts in a few ms
 * even when the CPUs are busy, which is what a process at `exit` has left.
 *
 * @module
 */
import { BACKPRESSURE_DETAILS, OTLP_LOGS_EXPORT_PATH } from '../../otlp/grpc-methods.ts';
import { TOKEN_METADATA_KEY } from '../../semconv.ts';

/** What the main thread hands to the worker. */
export interface SyncExportJob {
  /** grpc-js style target: `unix:///path/sock`, `unix:/path/sock` or `host:port` */
  target: string;
  /** sent as gRPC metadata `x-starlog-token` when set */
  token?: string;
  /** serialized `ExportLogsServiceRequest`s (protobuf) */
  requests: Uint8Array[];
  /** absolute deadline, ms since the epoch */
  deadline: number;
  sab: SharedArrayBuffer;
}

/** The worker's source (CommonJS, evaluated with `new Worker(source, { eval: true })`). */
export const SYNC_EXPORT_WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const http2 = require('node:http2');
const net = require('node:net');
const PATH = ${JSON.stringify(OTLP_LOGS_EXPORT_PATH)};
const BUSY = ${JSON.stringify(BACKPRESSURE_DETAILS)};
const TOKEN_KEY = ${JSON.stringify(TOKEN_METADATA_KEY)};
const sessions = new Map();

function connect(target) {
  if (target.startsWith('unix:')) {
    const path = target.replace(/^unix:(\\/\\/)?/, '');
    return () => net.connect(path);
  }
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i).replace(/^\\[|\\]$/g, '');
  const port = Number(target.slice(i + 1));
  return () => net.connect(port, host);
}

function session(target) {
  let s = sessions.get(target);
  if (s && !s.closed && !s.destroyed) return s;
  s = http2.connect('http://localhost', { createConnection: connect(target) });
  s.on('error', () => {});
  s.on('close', () => { if (sessions.get(target) === s) sessions.delete(target); });
  // the session keeps a lazy worker alive until its answers are in (the parent unrefs the worker)
  sessions.set(target, s);
  return s;
}

function run(job) {
  const cells = new Int32Array(job.sab);
  let left = job.requests.length;
  const finish = () => { Atomics.store(cells, 0, 1); Atomics.notify(cells, 0); };
  const settle = (i, v) => {
    if (Atomics.load(cells, 1 + i) !== 0) return;
    Atomics.store(cells, 1 + i, v);
    if (--left === 0) finish();
  };
  if (left === 0) { finish(); return; }
  let s;
  try { s = session(job.target); } catch { for (let i = 0; i < job.requests.length; i++) settle(i, 2); return; }
  job.requests.forEach((req, i) => {
    try {
      const body = Buffer.from(req.buffer, req.byteOffset, req.byteLength);
      const head = Buffer.alloc(5);
      head.writeUInt32BE(body.length, 1);
      const headers = {
        ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers',
        'grpc-timeout': Math.max(1, job.deadline - Date.now()) + 'm',
      };
      if (job.token) headers[TOKEN_KEY] = job.token;
      let status;
      const stream = s.request(headers);
      const read = (h) => { if (h['grpc-status'] !== undefined) status = [Number(h['grpc-status']), String(h['grpc-message'] || '')]; };
      stream.on('response', read);
      stream.on('trailers', read);
      stream.on('data', () => {});
      stream.on('error', () => {});
      stream.on('close', () => {
        if (!status) return settle(i, 2);
        let msg = status[1];
        try { msg = decodeURIComponent(msg); } catch {}
        settle(i, status[0] === 0 ? 1 : status[0] === 8 && msg === BUSY ? 3 : 2);
      });
      stream.setTimeout(Math.max(1, job.deadline - Date.now()), () => stream.close());
      stream.write(head);
      stream.end(body);
    } catch {
      settle(i, 2);
    }
  });
}

const data = workerData;
if (data && data.job) run(data.job);
if (data && data.eager) parentPort.on('message', run);
`;
