/**
 * The live view's worker thread (loaded by `live-worker.ts` once it lowered the thread's
 * priority): owns the SQLite store (bounded) and the HTTP server, takes the batches the primary's
 * {@link ViewStage} posts (flat arrays, `live-encoding.ts`), acknowledges each with its byte
 * estimate (the stage's bound). Level changes from the page go to the primary's receiver through
 * the level-control client, as `starlog level set` does.
 *
 * @module
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { getLevels, setLevels } from '../multiprocess/control/level-client.ts';
import { decodeBatch, type EncodedBatch } from './live-encoding.ts';
import type { FromWorker, ToWorker } from './live-stage.ts';
import type { LiveWorkerData } from './live-worker-data.ts';
import { startViewServer } from './server.ts';
import { ViewQueries } from './store/queries.ts';
import { ViewStore } from './store/store.ts';

const data = workerData as LiveWorkerData;

const port = parentPort!;
const store = new ViewStore({
  path: join(data.dir, 'view.sqlite'),
  maxBytes: data.maxBytes,
  maxAgeMs: data.maxAgeMs,
});
let target: { endpoint: string; token: string } | undefined;
const need = () => {
  if (target === undefined) throw new Error('the primary has not started its receiver yet');
  return target;
};
const server = await startViewServer({
  queries: new ViewQueries(store.db),
  stats: () => ({ ...store.stats(), dropped: droppedByStage }),
  mode: 'live',
  title: data.title,
  port: data.port,
  levels: {
    get: () => getLevels(need()),
    set: (change) => setLevels({ ...need(), ...change }),
  },
});
let ingestErrors = 0;
let droppedByStage = 0;
const post = (m: FromWorker) => port.postMessage(m);
// One batch per turn of the event loop, so that page requests are answered between batches.
// Behind (more than BEHIND batches waiting: the stage is about to drop or dropping, the primary
// is running flat out), the worker rests half as long as the batch took before the next, so that
// it takes at most about two thirds of a core from a primary that is using everything it has;
// keeping up (a short queue), it never rests.
const BEHIND = 4;
const queue: { batch: EncodedBatch; bytes: number }[] = [];
let draining = false;
const drain = () => {
  const next = queue.shift();
  if (next === undefined) {
    draining = false;
    return;
  }
  const start = performance.now();
  try {
    if (next.batch.length > 0) store.add(decodeBatch(next.batch));
  } catch (err) {
    if (ingestErrors++ === 0) post({ type: 'error', message: String(err) });
  }
  post({ type: 'ack', bytes: next.bytes });
  if (queue.length > BEHIND) setTimeout(drain, (performance.now() - start) / 2);
  else setImmediate(drain);
};
port.on('message', async (m: ToWorker) => {
  switch (m.type) {
    case 'rows':
      droppedByStage = m.dropped;
      queue.push({ batch: m.batch, bytes: m.bytes });
      if (!draining) {
        draining = true;
        setImmediate(drain);
      }
      break;
    case 'proc':
      store.addProcess(m);
      break;
    case 'levels':
      target = { endpoint: m.endpoint, token: m.token };
      break;
    case 'close':
      await server.close();
      store.close();
      post({ type: 'closed' });
      port.close();
      break;
  }
});
post({ type: 'ready', url: server.url });
