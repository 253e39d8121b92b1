import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import type { ShippingStats } from '../src/export/shipping-processor.ts';
import { IngestedLogRecord } from '../src/multiprocess/receiver/ingested-log-record.ts';
import { startReceiver } from '../src/multiprocess/receiver/receiver.ts';
import { receivedRecord, SCHEMA_URL, scopeOf } from './support/records.ts';

const CHILD_SCRIPT = fileURLToPath(new URL('./fixtures/receiver-child.ts', import.meta.url));
const CHILDREN = 4;
const PER_CHILD = 25_000;

interface Done {
  type: 'done';
  pid: number;
  sent: number;
  stats: ShippingStats;
}

function runChild(child: ChildProcess): { ready: Promise<void>; done: Promise<Done> } {
  let readyResolve: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    readyResolve = resolve;
  });
  const done = new Promise<Done>((resolve, reject) => {
    child.on('message', (msg: { type: string }) => {
      if (msg.type === 'ready') readyResolve();
      else if (msg.type === 'done') resolve(msg as Done);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited with ${code}`));
    });
  });
  return { ready, done };
}

describe('receiver with real child processes', () => {
  it(`receives ${CHILDREN} × ${PER_CHILD} records from forked children, complete and exact`, {
    timeout: 120_000,
  }, async () => {
    const received: IngestedLogRecord[] = [];
    const processor: LogRecordProcessor = {
      onEmit(record: ReadWriteLogRecord) {
        received.push(record as IngestedLogRecord);
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const receiver = await startReceiver({ processor });
    const children: ChildProcess[] = [];
    try {
      const runs = [];
      for (let c = 0; c < CHILDREN; c++) {
        const proc = fork(CHILD_SCRIPT, [String(c), String(PER_CHILD), 'fidelity'], {
          env: { ...process.env, ...receiver.env },
          execPath: process.execPath,
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        children.push(proc);
        runs.push(runChild(proc));
      }
      await Promise.all(runs.map((r) => r.ready));
      for (const proc of children) proc.send({ type: 'go' });
      const done = await Promise.all(runs.map((r) => r.done));

      for (const d of done) {
        assert.equal(d.sent, PER_CHILD);
        const { queued, exported, pending, queueFull, exportFailed, exportRejected } = d.stats;
        assert.deepEqual(
          { queued, exported, pending, queueFull, exportFailed, exportRejected },
          {
            queued: PER_CHILD,
            exported: PER_CHILD,
            pending: 0,
            queueFull: 0,
            exportFailed: 0,
            exportRejected: 0,
          },
        );
      }
      assert.equal(received.length, CHILDREN * PER_CHILD);

      const pidOf = done.map((d) => d.pid);
      const seen = new Set<string>();
      const resources = new Map<number, unknown>();
      const scopes = new Map<number, unknown>();
      for (const r of received) {
        assert.ok(r instanceof IngestedLogRecord);
        const child = r.attributes['child.index'] as number;
        const i = r.attributes['record.seq'] as number;
        const key = `${child}/${i}`;
        assert.ok(!seen.has(key), `duplicate ${key}`);
        seen.add(key);
        const e = receivedRecord(child, i);
        assert.deepEqual(r.hrTime, e.hrTime, key);
        assert.deepEqual(r.hrTimeObserved, e.hrTimeObserved, key);
        assert.equal(r.severityNumber, e.severityNumber, key);
        assert.equal(r.severityText, e.severityText, key);
        assert.deepEqual(r.body, e.body, key);
        assert.deepEqual(r.attributes, e.attributes, key);
        assert.equal(r.eventName, e.eventName, key);
        assert.deepEqual(r.spanContext, e.spanContext, key);
        assert.equal(r.droppedAttributesCount, 0);
        // one Resource and one scope object per child
        if (!resources.has(child)) {
          resources.set(child, r.resource);
          assert.deepEqual(r.resource.attributes, {
            'service.name': `fixture-child-${child}`,
            'process.pid': pidOf[child],
            'starlog.role': 'child',
          });
          scopes.set(child, r.instrumentationScope);
          assert.deepEqual(r.instrumentationScope, {
            ...scopeOf(child),
            schemaUrl: SCHEMA_URL,
            attributes: { 'scope.child': child },
          });
        }
        assert.equal(r.resource, resources.get(child), key);
        assert.equal(r.instrumentationScope, scopes.get(child), key);
      }
      assert.equal(seen.size, CHILDREN * PER_CHILD);
      assert.equal(new Set(resources.values()).size, CHILDREN);

      const stats = receiver.stats();
      assert.equal(stats.records, CHILDREN * PER_CHILD);
      assert.deepEqual(stats.rejected, {
        unauthenticated: 0,
        invalidArgument: 0,
        resourceExhausted: 0,
      });
      assert.equal(stats.processorErrors, 0);
      for (let c = 0; c < CHILDREN; c++) {
        const child = stats.children[String(pidOf[c])];
        assert.ok(child, `stats for child ${c}`);
        assert.equal(child.records, PER_CHILD);
        assert.equal(child.serviceName, `fixture-child-${c}`);
      }
    } finally {
      for (const proc of children) if (proc.exitCode === null) proc.kill();
      await receiver.close();
    }
  });
});
