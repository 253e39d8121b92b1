import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/config-primary.ts', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'starlog-config-setup-'));
after(() => rm(dir, { recursive: true, force: true }));

const configV1 = `levels: info,app.db=warn
status: { interval: 1h }
exporters:
  file: { path: out.jsonl }
  console: false
`;

test('setupLogging reads starlog.config.yaml; SIGHUP re-reads it, applies levels and reports what needs a restart', async () => {
  await writeFile(join(dir, 'starlog.config.yaml'), configV1);
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('STARLOG_') || k.startsWith('OTEL_')) delete env[k];
  const child = spawn(process.execPath, [fixture], {
    cwd: dir,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'ready info,app.db=warn');

  await writeFile(
    join(dir, 'starlog.config.yaml'),
    configV1.replace('app.db=warn', 'app.db=debug').replace('out.jsonl', 'other.jsonl'),
  );
  child.kill('SIGHUP');
  // the reload is asynchronous: poll by logging until the new table is in force
  let line = '';
  for (let i = 0; i < 50 && !line.endsWith('app.db=debug'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    child.stdin!.write('log\n');
    line = String((await lines.next()).value);
  }
  assert.equal(line, 'logged info,app.db=debug');
  child.stdin!.end('stop\n');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);

  const text = await readFile(join(dir, 'out.jsonl'), 'utf8');
  assert.ok(!text.includes('debug before reload'), 'app.db=warn filtered the first debug record');
  assert.ok(text.includes('debug after reload'), 'app.db=debug after the reload');
  assert.match(text, /configuration reloaded from [^"]*starlog\.config\.yaml: applied levels/);
  assert.match(text, /configuration changed but needs a restart: exporters\.file\.path/);
});

test('an invalid configuration file is a clear error at setup', async () => {
  const bad = join(dir, 'bad');
  await rm(bad, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(bad));
  await writeFile(join(bad, 'starlog.config.yaml'), 'lookback:\n  maxAge: 5x\n');
  const child = spawn(process.execPath, [fixture], { cwd: bad, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += String(d);
  });
  const [code] = await once(child, 'exit');
  assert.notEqual(code, 0);
  assert.match(stderr, /starlog\.config\.yaml:2:\d+: lookback\.maxAge: expected a duration/);
});
