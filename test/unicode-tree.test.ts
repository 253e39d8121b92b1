/**
 * Text that breaks line-based readers and terminals: U+2028/U+2029 (JSON leaves them raw; Node's
 * readline splits lines there), NUL, lone surrogates and bidi controls, in bodies, attribute keys
 * and values and resource attributes. Written by the JSON-lines exporter, every record is shown
 * by `starlog tree`, with those characters escaped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonlFileExporter } from '../src/exporters/jsonl-file.ts';
import { PlainLogRecord } from '../src/util/plain-log-record.ts';
import { starlog } from './support/tree-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'starlog-unicode-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const NASTY: Record<string, string> = {
  'line separator': '\u2028',
  'paragraph separator': '\u2029',
  nul: '\u0000',
  'lone high surrogate': '\ud800',
  'lone low surrogate': '\udc00',
  'bidi override': '\u202e',
  'bidi isolate': '\u2066',
  'right-to-left mark': '\u200f',
  escape: '\u001b[31m',
};
/** what must never reach the terminal raw */
const RAW =
  /[\u0000-\u0008\u000b-\u001f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

it('every record with U+2028/2029, NUL, lone surrogates or bidi controls is shown by tree, escaped', {
  timeout: 120_000,
}, async () => {
  const path = join(dir, 'nasty.jsonl');
  const exporter = new JsonlFileExporter({ path });
  const records: PlainLogRecord[] = [];
  let i = 0;
  for (const [name, chars] of Object.entries(NASTY)) {
    const resource = resourceFromAttributes({
      'service.name': `svc ${name} ${chars} end`,
      'process.pid': 1000 + i,
      [`res.key${chars}`]: `res value ${chars}`,
    });
    for (let k = 0; k < 3; k++) {
      records.push(
        new PlainLogRecord({
          resource,
          instrumentationScope: { name: `scope${chars}` },
          hrTime: [1_795_000_000 + i, k * 1000],
          severityNumber: 9,
          severityText: 'INFO',
          body: `record ${i}.${k} ${name}: before${chars}after`,
          attributes: { [`key${chars}`]: `value${chars}`, 'task.name': `task${chars}` },
        }),
      );
    }
    i++;
  }
  // one export call per record: one line each (a lost line loses only itself)
  for (const r of records) {
    await new Promise<void>((resolve, reject) =>
      exporter.export([r], (res) => (res.code === 0 ? resolve() : reject(res.error))),
    );
  }
  await exporter.shutdown();
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  assert.equal(lines.length, records.length);
  assert.ok(
    lines.some((l) => l.includes('\u2028')),
    'the file holds U+2028 raw (as JSON allows)',
  );

  const tree = await starlog(['tree', '--all', '--max-body', '500', path]);
  assert.equal(tree.code, 0, tree.stderr);
  assert.equal(tree.stderr.includes('skipped'), false, tree.stderr);
  assert.doesNotMatch(tree.stdout, RAW, 'nothing raw reaches the terminal');
  for (const r of records) {
    const shown = String(r.body).replace(
      /[\u0000-\u001f\u2028\u2029\u200f\u202e\u2066]|[\ud800-\udfff]/g,
      (c) => {
        const code = c.charCodeAt(0);
        return code < 0x100
          ? `\\x${code.toString(16).padStart(2, '0')}`
          : `\\u${code.toString(16).padStart(4, '0')}`;
      },
    );
    assert.ok(tree.stdout.includes(shown), `record shown escaped: ${JSON.stringify(shown)}`);
  }
});
