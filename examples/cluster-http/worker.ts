/**
 * A cluster worker of the main job: an HTTP service that logs per request with getLogger(),
 * counts with inc(), runs each request inside a task and its work inside subtasks, one of them in
 * a pricing process that this worker started with starlog's fork().
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { fork, getLogger, inc, setupLogging, task, to } from 'starlog';

await setupLogging({ serviceName: 'cluster-http' });
const log = getLogger('app.http');
const db = getLogger('app.db');

// The pricing process is a child of this worker (a grandchild of the primary): it ships its
// records to the primary too, and continues our tasks through foreign ids.
const pricing = fork(fileURLToPath(new URL('./pricing.ts', import.meta.url)), [], {
  serialization: 'advanced',
});
let nextQuote = 0;
const pendingQuotes = new Map<number, (price: number) => void>();
pricing.on('message', (m: { id: number; price: number }) => {
  pendingQuotes.get(m.id)?.(m.price);
  pendingQuotes.delete(m.id);
});
function quote(foreignId: string, sku: string): Promise<number> {
  const id = nextQuote++;
  return new Promise((resolve) => {
    pendingQuotes.set(id, resolve);
    pricing.send({ id, foreignId, sku });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  await task(
    `${req.method} ${url}`,
    { 'http.method': req.method ?? '', 'url.path': url },
    async (job) => {
      log.debug(
        { 'user_agent.original': req.headers['user-agent'] ?? '' },
        'request headers parsed',
      );
      const order = await to('load order', async () => {
        db.debug('SELECT * FROM orders WHERE id = %s', url.split('/').pop());
        await new Promise((r) => setTimeout(r, 1 + Math.random() * 3));
        db.debug('1 row');
        return { sku: `sku-${url.length % 7}`, amount: 1 + (url.length % 5) };
      });
      const price = await to('price order', (sub) => quote(sub.foreignId(), order.sku));
      if (url.startsWith('/fail')) {
        log.error({ 'http.response.status_code': 500 }, 'payment declined for %s', url);
        res.writeHead(500).end('declined\n');
        log.info(inc('requests').inc('5xx'), 'handled %s 500', url);
        throw new Error(`payment declined for ${url}`);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, total: price * order.amount }));
      log.info(inc('requests').inc('2xx'), 'handled %s 200', url);
      job.success(`served ${url}`);
    },
  );
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => {
    // the task already logged FAILED with the exception; the response was sent
  });
});
server.listen(0, '127.0.0.1');

process.on('disconnect', () => {
  server.close();
  pricing.disconnect();
});
