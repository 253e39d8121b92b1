/**
 * express with winston, as an existing app has them, plus one line: `await setupLogging()`.
 * Every request runs in a task (`GET /users/:id`, one access record at its end), winston's
 * records are captured (scope = the `label`, here `users`) and carry the request's task; the
 * failing request's tree is printed at the end.
 *
 *   ./node_modules/.bin/node examples/express-winston/main.ts
 */
import { Writable } from 'node:stream';
import express from 'express';
import { runTree, setupLogging } from 'starlog';
import winston from 'winston';

const logFile = process.env.STARLOG_FILE ?? 'logs/express-winston.jsonl';
const handle = await setupLogging({
  serviceName: 'express-winston',
  levels: 'debug',
  file: { path: logFile },
  status: false,
});

// the application's own logger, unchanged: its Console output is replaced by starlog's console
const logger = winston.createLogger({
  level: 'debug',
  format: winston.format.combine(winston.format.label({ label: 'users' }), winston.format.json()),
  transports: [new winston.transports.Console()],
});

const app = express();
app.get('/users/:id', async (req, res) => {
  logger.debug('looking up user', { id: req.params.id });
  await new Promise((r) => setTimeout(r, 2));
  if (req.params.id === '13') {
    logger.error('user store unavailable', { id: req.params.id });
    res.status(503).send('unavailable');
    return;
  }
  logger.info('user found', { id: req.params.id });
  res.json({ id: req.params.id });
});

const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const { port } = server.address() as { port: number };
for (const id of ['1', '2', '13']) await fetch(`http://127.0.0.1:${port}/users/${id}`);
server.close();
await handle.shutdown();

let out = '';
const collect = new Writable({
  write(chunk, _enc, done) {
    out += String(chunk);
    done();
  },
});
await runTree(
  [logFile],
  { failed: true },
  { stdout: collect, stderr: process.stderr, env: process.env },
);
process.stdout.write(`\nstarlog tree --failed ${logFile}\n${out}`);
