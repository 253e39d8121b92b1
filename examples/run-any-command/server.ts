/**
 * A plain HTTP server: no starlog, no logging set-up. It prints a line per request with
 * console.log (console.error for failures), and uses the OpenTelemetry Logs API only the way an
 * instrumented library does (`logs.getLogger(...).emit(...)`, a no-op unless someone set up a
 * LoggerProvider). Run alone it logs nowhere but the terminal; run under
 * `starlog run --register --capture-output` (see main.ts) its output lines and its API records
 * reach the primary, which counts them in status records and writes them to the log file.
 *
 * Ends after MAX_REQUESTS requests (default: never) or on SIGTERM.
 */
import { createServer } from 'node:http';
import { logs, SeverityNumber } from '@opentelemetry/api';

const maxRequests = Number(process.env.MAX_REQUESTS ?? Number.POSITIVE_INFINITY);
const library = logs.getLogger('http-server');
let served = 0;

const server = createServer((req, res) => {
  const start = performance.now();
  const failed = req.url?.startsWith('/fail') ?? false;
  res.statusCode = failed ? 500 : 200;
  res.end(failed ? 'something broke\n' : 'ok\n');
  const ms = (performance.now() - start).toFixed(2);
  if (failed) console.error(`${req.method} ${req.url} 500 ${ms} ms: something broke`);
  else console.log(`${req.method} ${req.url} 200 ${ms} ms`);
  // what an instrumented HTTP library would emit; `starlog.count.*` attributes are summed in
  // status records
  library.emit({
    severityNumber: failed ? SeverityNumber.ERROR : SeverityNumber.DEBUG,
    severityText: failed ? 'ERROR' : 'DEBUG',
    body: `request ${req.method} ${req.url} answered ${res.statusCode}`,
    attributes: {
      'http.request.method': req.method ?? '',
      'url.path': req.url ?? '',
      'http.response.status_code': res.statusCode,
      'starlog.count.requests': 1,
      [`starlog.count.${failed ? '5xx' : '2xx'}`]: 1,
    },
  });
  if (++served >= maxRequests) stop(`served ${served} requests`);
});

function stop(why: string): void {
  console.log(`stopping: ${why}`);
  server.close();
  server.closeAllConnections();
}

process.on('SIGTERM', () => stop('SIGTERM'));
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(
    `listening on 127.0.0.1:${typeof address === 'object' && address ? address.port : '?'}`,
  );
});
