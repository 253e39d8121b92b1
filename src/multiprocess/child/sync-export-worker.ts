/**
 * Worker thread of the synchronous export (see `sync-export.ts`): sends already serialized OTLP
 * `ExportLogsServiceRequest`s with grpc-js unary calls while the main thread waits in
 * `Atomics.wait`. Results go back through the job's SharedArrayBuffer (Int32 cells):
 * `[0]` 0 = running, 1 = done; `[1 + i]` request i: 0 = no answer, 1 = acknowledged, 2 = failed.
 * Started without execArgv and with an empty env, so preload hooks (`--import`) of the parent
 * do not run here.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { identity, OTLP_LOGS_EXPORT_PATH } from '../../otlp/grpc-methods.ts';
import { TOKEN_METADATA_KEY } from '../../semconv.ts';

/** What the main thread hands to the worker. */
export interface SyncExportJob {
  /** grpc-js target: `unix:///path/sock` or `host:port` */
  target: string;
  /** sent as gRPC metadata `x-starlog-token` when set */
  token?: string;
  /** serialized `ExportLogsServiceRequest`s (protobuf) */
  requests: Uint8Array[];
  /** absolute deadline, ms since the epoch */
  deadline: number;
  sab: SharedArrayBuffer;
}

const clients = new Map<string, Client>();

function run(job: SyncExportJob): void {
  const cells = new Int32Array(job.sab);
  let left = job.requests.length;
  const finish = (): void => {
    Atomics.store(cells, 0, 1);
    Atomics.notify(cells, 0);
  };
  if (left === 0) {
    finish();
    return;
  }
  try {
    let client = clients.get(job.target);
    if (client === undefined) {
      client = new Client(job.target, credentials.createInsecure());
      clients.set(job.target, client);
    }
    const metadata = new Metadata();
    if (job.token) metadata.set(TOKEN_METADATA_KEY, job.token);
    job.requests.forEach((req, i) => {
      const buf = Buffer.from(req.buffer, req.byteOffset, req.byteLength);
      (client as Client).makeUnaryRequest(
        OTLP_LOGS_EXPORT_PATH,
        identity,
        identity,
        buf,
        metadata,
        { deadline: job.deadline },
        (err) => {
          Atomics.store(cells, 1 + i, err ? 2 : 1);
          if (--left === 0) finish();
        },
      );
    });
  } catch {
    for (let i = 0; i < job.requests.length; i++) Atomics.store(cells, 1 + i, 2);
    finish();
  }
}

const data = workerData as { job?: SyncExportJob; eager?: boolean } | null;
if (data?.job) run(data.job);
if (data?.eager) parentPort?.on('message', (job: SyncExportJob) => run(job));
