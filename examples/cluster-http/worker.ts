/**
 * A cluster worker of the main job: a fastify service (its logger is pino) with no per-request
 * logging code: `setupLogging()` captures pino and runs every request in a task (`GET
 * /orders/:id`, one access record at its end). The handlers log with fastify's own `request.log`
 * and starlog's getLogger(), run their work in subtasks, one of them in a pricing process that
 * this worker started with starlog's fork().
 */
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { fork, getLogger, setupLogging, to } from 'starlog';

await setupLogging({ serviceName: 'cluster-http' });
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

const app = Fastify({ logger: { name: 'app.http' } });

async function priceOrder(id: string): Promise<{ total: number }> {
  const order = await to('load order', async () => {
    db.debug('SELECT * FROM orders WHERE id = %s', id);
    await new Promise((r) => setTimeout(r, 1 + Math.random() * 3));
    db.debug('1 row');
    return { sku: `sku-${id.length % 7}`, amount: 1 + (Number(id) % 5) };
  });
  const price = await to('price order', (sub) => quote(sub.foreignId(), order.sku));
  return { total: price * order.amount };
}

app.get<{ Params: { id: string } }>('/orders/:id', async (request) => {
  request.log.debug({ 'user_agent.original': request.headers['user-agent'] ?? '' }, 'headers');
  const { total } = await priceOrder(request.params.id);
  request.log.info({ total }, 'order %s priced', request.params.id);
  return { ok: true, total };
});

app.get<{ Params: { id: string } }>('/fail/:id', async (request) => {
  await priceOrder(request.params.id);
  // fastify answers 500 and logs the error; the request's task fails and its lookback flushes
  throw new Error(`payment declined for order ${request.params.id}`);
});

await app.listen({ port: 0, host: '127.0.0.1' });

process.on('disconnect', () => {
  void app.close();
  pricing.disconnect();
});
