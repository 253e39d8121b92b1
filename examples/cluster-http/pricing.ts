/**
 * The pricing process: forked by each worker with starlog's fork(). Each quote continues the
 * worker's task with importTask(), so its records hang under that request in the task tree.
 */
import { getLogger, importTask, setupLogging } from 'starlog';

await setupLogging({ serviceName: 'pricing' });
const log = getLogger('app.pricing');

process.on('message', (m: { id: number; foreignId: string; sku: string }) => {
  importTask(m.foreignId, 'quote', { sku: m.sku }, (job) => {
    log.debug('looking up %s in the price list', m.sku);
    const price = 10 + (m.sku.charCodeAt(m.sku.length - 1) % 10);
    job.success(`quoted ${price}`);
    process.send?.({ id: m.id, price });
  });
});
