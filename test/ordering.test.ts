/**
 * Order end to end: 4 child processes each emit 2,500 records with sequence numbers through three
 * loggers in turn (so every export batch holds several scopes within the same millisecond). Per
 * process, the JSON-lines file, the primary's console and `starlog tree` show them in sequence.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { starlog } from './support/tree-cli.ts';

const PRIMARY = fileURLToPath(new URL('./fixtures/order-primary.ts', import.meta.url));
const PER_PROCESS = 2500;
const DEADLINE_MS = 120_000;
const dir = mkdtempSync(join(tmpdir(), 'starlog-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function withDeadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${DEADLINE_MS} ms`)),
      DEADLINE_MS,
    );
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

function runPrimary(
  file: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NO_COLOR: '1',
      ORDER_RECORDS: String(PER_PROCESS),
    };
    for (const k of Object.keys(env))
      if (k.startsWith('STARLOG_') || k.startsWith('OTEL_')) delete env[k];
    const child = spawn(process.execPath, [PRIMARY, file], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Sequence numbers per process (`p0`..`p3`) in the order `pairs` lists them. */
function sequences(pairs: Iterable<[string, number]>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [p, n] of pairs) {
    const list = out.get(p) ?? [];
    list.push(n);
    out.set(p, list);
  }
  return out;
}

function assertInSequence(where: string, seqs: Map<string, number[]>): void {
  const want = Array.from({ length: PER_PROCESS }, (_, i) => i);
  for (const p of ['p0', 'p1', 'p2', 'p3']) {
    const got = seqs.get(p) ?? [];
    assert.equal(got.length, PER_PROCESS, `${where}: ${p} records`);
    const firstOff = got.findIndex((n, i) => n !== i);
    assert.deepEqual(got, want, `${where}: ${p} out of sequence at position ${firstOff}`);
  }
}

function* bodyMatches(text: string): Generator<[string, number]> {
  for (const m of text.matchAll(/\b(p[0-3]) seq (\d+)\b/g)) yield [m[1]!, Number(m[2])];
}

it('10,000 records of 4 processes: per process in sequence in the file, the console and the tree', {
  timeout: 3 * DEADLINE_MS,
}, async () => {
  const file = join(dir, 'order.jsonl');
  const primary = await withDeadline(runPrimary(file), 'the primary and its 4 children');
  assert.equal(primary.code, 0, `primary failed: ${primary.stderr}`);

  // the file: records in document order
  const pairs: [string, number][] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    for (const rl of JSON.parse(line).resourceLogs) {
      const service = rl.resource.attributes.find((a: { key: string }) => a.key === 'service.name')
        ?.value.stringValue;
      if (!/^p[0-3]$/.test(service)) continue;
      for (const sl of rl.scopeLogs)
        for (const r of sl.logRecords) {
          const seq = r.attributes.find((a: { key: string }) => a.key === 'seq');
          pairs.push([service, Number(seq.value.intValue)]);
        }
    }
  }
  assertInSequence('file', sequences(pairs));
  assertInSequence('console', sequences(bodyMatches(primary.stdout)));

  const tree = await withDeadline(
    starlog(['tree', '--all', '--max-body', '100', file]),
    'starlog tree',
  );
  assert.equal(tree.code, 0, tree.stderr);
  assertInSequence('tree', sequences(bodyMatches(tree.stdout)));
});
