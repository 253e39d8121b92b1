/**
 * The run-any-command example (the gunicorn demo of the Python starlog): a plain HTTP server with
 * no logging set-up (server.ts) runs under
 *
 *   starlog run --config starlog.config.yaml --register --capture-output --summary -- node server.ts
 *
 * `starlog run` is the primary: it starts the receiver, puts its environment into the server's,
 * adds `--import starlog/register` to the server's NODE_OPTIONS (so the OpenTelemetry API records
 * the server emits are shipped), turns each output line of the server into a record, writes a
 * status record every second (console + file) and everything to logs/run-any-command.jsonl.
 * This script sends a few requests (1 in 8 fails), then SIGTERM to `starlog run`, which forwards
 * it; the server closes, and starlog run ends with the server's exit code after the last records
 * are written. Then it prints what the log file holds.
 *
 * Run: ./node_modules/.bin/node examples/run-any-command/main.ts
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const cli = here('../../src/cli/main.ts');
const logFile = here('../../logs/run-any-command.jsonl');
rmSync(logFile, { force: true });

const args = [
  'run',
  '--config',
  here('starlog.config.yaml'),
  '--register',
  '--capture-output',
  '--summary',
  '--',
  process.execPath,
  here('server.ts'),
];
process.stdout.write(`$ starlog ${args.join(' ')}\n`);
const run = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
const timeout = setTimeout(() => {
  process.stderr.write('run-any-command: did not finish within 30 s\n');
  run.kill('SIGKILL');
  process.exit(1);
}, 30_000);

// the server's output (passed through by starlog run) and starlog's status lines
const port = await new Promise<number>((resolve, reject) => {
  let buffered = '';
  run.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    process.stdout.write(chunk);
    buffered += chunk;
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(buffered);
    if (m) resolve(Number(m[1]));
  });
  run.once('exit', () => reject(new Error('starlog run ended before the server listened')));
});

for (let i = 0; i < 24; i++) {
  const path = i % 8 === 5 ? `/fail/${i}` : `/orders/${i}`;
  await fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.text());
  await new Promise((r) => setTimeout(r, 100)); // ~2.5 s: a few status records
}
run.kill('SIGTERM');
const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
  run.once('close', (c, s) => resolve([c, s])),
);
clearTimeout(timeout);

// what reached the log file
const perSource = new Map<string, number>();
const status: string[] = [];
for (const line of readFileSync(logFile, 'utf8').split('\n')) {
  if (line === '') continue;
  for (const rl of JSON.parse(line).resourceLogs) {
    const attr = (k: string) =>
      rl.resource.attributes.find((a: { key: string }) => a.key === k)?.value;
    const pid = attr('process.pid')?.intValue ?? attr('process.pid')?.stringValue;
    const role = attr('starlog.role')?.stringValue;
    for (const sl of rl.scopeLogs) {
      for (const r of sl.logRecords) {
        if (sl.scope.name === 'starlog.status') status.push(r.body.stringValue);
        const key = `pid ${pid} (${role}), scope ${sl.scope.name}`;
        perSource.set(key, (perSource.get(key) ?? 0) + 1);
      }
    }
  }
}
process.stdout.write(
  [
    '',
    `starlog run ended with ${signal ?? `exit code ${code}`} (the server's)`,
    `log file: ${logFile}`,
    'records per process and scope:',
    ...[...perSource].map(([k, n]) => `  ${k}: ${n}`),
    `status records in the file: ${status.length}; the last one:`,
    `  ${status.at(-1)}`,
    '',
  ].join('\n'),
);
