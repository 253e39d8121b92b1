/**
 * Fuzzes a real receiver (in its own process, started with --expose-gc) over its unix socket:
 * 10,000 mutated and random `ExportLogsServiceRequest` bodies plus the fixed hostile ones
 * (test/fixtures/fuzz/corpus.ts). Deterministic: the seed is printed; `FUZZ_SEED=<n>` replays a run.
 * The long run is `bench/fuzz.ts`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OtlpLogsDecoder } from '../src/otlp/logs-decoder.ts';
import {
  fuzzInputs,
  fuzzSeed,
  hostileInputs,
  makeSeeds,
  Prng,
  validRequest,
} from './support/fuzz/corpus.ts';
import { type Host, RawExportClient, runFuzz, startHost } from './support/fuzz/driver.ts';
import { concat, lenField, stringField } from './support/protobuf.ts';

const SEED = fuzzSeed(0x5eed_2024);
const RANDOM_INPUTS = 10_000;
const CONCURRENCY = 16;
const DEADLINE_MS = 15_000;
/** heap growth allowed over the whole run, after a full GC (the caches hold up to 1024 resources and 4096 scopes) */
const HEAP_BOUND = 20 * 1024 * 1024;
const MiB = 1024 * 1024;

describe(`receiver fuzz (FUZZ_SEED=${SEED})`, () => {
  let host: Host;
  let client: RawExportClient;
  before(async () => {
    console.log(`# fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    host = await startHost();
    client = new RawExportClient(host.endpoint, host.token);
  });
  after(async () => {
    client?.close();
    await host?.close();
  });

  it(`answers ${RANDOM_INPUTS} random/mutated requests and the hostile ones with OK, INVALID_ARGUMENT or RESOURCE_EXHAUSTED; heap stays flat; valid requests are ingested exactly afterwards`, {
    timeout: 120_000,
  }, async () => {
    const seeds = await makeSeeds();
    const rng = new Prng(SEED);
    // warm up (JIT, caches, grpc-js buffers) with valid requests before the baseline
    let warmRecords = 0;
    for (let i = 0; i < 200; i++) {
      const body = seeds[i % seeds.length]!;
      assert.equal(await client.call(body, DEADLINE_MS), null);
    }
    warmRecords = (await host.heap()).records;
    const baseline = await host.heap();

    const hostile = hostileInputs(host.maxMessageBytes);
    const outcome = await runFuzz(
      client,
      fuzzInputs(rng, seeds, RANDOM_INPUTS + hostile.length, hostile),
      { concurrency: CONCURRENCY, deadlineMs: DEADLINE_MS },
    );
    console.log(
      `# ${outcome.inputs} inputs, ${(outcome.bytesSent / MiB).toFixed(1)} MiB: ${JSON.stringify(outcome.byCode)}`,
    );
    assert.equal(
      outcome.violationCount,
      0,
      `violations (seed ${SEED}):\n${outcome.violations.map((v) => JSON.stringify(v)).join('\n')}`,
    );
    assert.ok(outcome.inputs >= RANDOM_INPUTS + hostile.length);
    // every kind of answer happened (the corpus reaches past the first bytes)
    for (const code of ['OK', 'INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED'])
      assert.ok((outcome.byCode[code] ?? 0) > 0, `no ${code} answer`);

    // the receiver is alive, counted consistently, and ingested exactly what it accepted
    const after = await host.heap();
    const stats = after.stats;
    assert.equal(after.records - warmRecords, outcome.expectedRecords, 'records ingested');
    assert.equal(stats.records, after.records);
    assert.equal(stats.rejected.invalidArgument, outcome.handlerAnswers.invalidArgument);
    assert.equal(stats.rejected.resourceExhausted, outcome.handlerAnswers.resourceExhausted);
    assert.equal(stats.rejected.unauthenticated, 0);
    assert.equal(
      stats.requests - 200,
      outcome.handlerAnswers.ok +
        outcome.handlerAnswers.invalidArgument +
        outcome.handlerAnswers.resourceExhausted,
    );
    assert.ok(Object.keys(stats.children).length <= 1024);

    const growth = after.heapUsed - baseline.heapUsed;
    console.log(
      `# heap after gc: ${(baseline.heapUsed / MiB).toFixed(1)} → ${(after.heapUsed / MiB).toFixed(1)} MiB; rss ${(after.rss / MiB).toFixed(0)} MiB`,
    );
    assert.ok(growth < HEAP_BOUND, `heap grew by ${(growth / MiB).toFixed(1)} MiB`);

    // valid requests afterwards: exactly their records, in order
    await host.capture();
    const expected: string[] = [];
    for (let r = 0; r < 20; r++) {
      const bodies = Array.from({ length: 5 }, (_, i) => `final ${r}/${i} \u00e9`);
      expected.push(...bodies);
      assert.equal(await client.call(validRequest(bodies), DEADLINE_MS), null);
    }
    const got = await host.captured();
    assert.deepEqual(
      got.map((g) => g.body),
      expected,
    );
    got.forEach((g, i) => {
      assert.deepEqual(g.attributes, { 'final.seq': i % 5 });
      assert.equal(g.severityText, 'INFO');
      assert.equal(g.pid, 4242);
    });
  });
});

/** A request with one record whose resource has `service.name` = `service` and whose scope is named `scope`. */
function requestWith(service: string, scope: string, records = 1): Uint8Array {
  const resource = lenField(
    1,
    lenField(1, concat([stringField(1, 'service.name'), lenField(2, stringField(1, service))])),
  );
  const record = lenField(2, lenField(5, stringField(1, 'x')));
  const scopeLogs = lenField(
    2,
    concat([lenField(1, stringField(1, scope)), ...Array.from({ length: records }, () => record)]),
  );
  return lenField(1, concat([resource, scopeLogs]));
}

// Regression tests for what the fuzzing found: caches bounded in entries only (1024 resources ×
// a 16 MiB resource each could pin gigabytes) and unbounded statistics keys.
describe('decoder caches under hostile resources', () => {
  it('stay bounded in bytes however many distinct, large resources and scopes arrive', () => {
    const decoder = new OtlpLogsDecoder();
    const big = 'r'.repeat(64 * 1024);
    for (let i = 0; i < 400; i++) {
      const { records } = decoder.decode(requestWith(`${i}${big}`, `${i}${big}`));
      assert.equal(records.length, 1);
    }
    const bytes = decoder.cacheBytes();
    const size = decoder.cacheSize();
    assert.equal(decoder.maxCacheBytes, 16 * MiB);
    assert.ok(bytes.resources <= 16 * MiB && bytes.scopes <= 16 * MiB, JSON.stringify(bytes));
    assert.ok(bytes.resources > 15 * MiB, 'the budget is used');
    // 64 KiB resources: about 16 MiB / (2 × 64 KiB) of them fit
    assert.ok(size.resources >= 100 && size.resources <= 128, JSON.stringify(size));
  });

  it('do not cache an entry heavier than the budget, yet records of one request share it', () => {
    const decoder = new OtlpLogsDecoder({ maxCacheBytes: 4096 });
    const body = requestWith('s'.repeat(8192), 'scope', 3);
    const first = decoder.decode(body).records;
    assert.equal(first[0]!.resource, first[2]!.resource);
    const second = decoder.decode(body).records;
    assert.notEqual(second[0]!.resource, first[0]!.resource);
    assert.deepEqual(second[0]!.resource.attributes, first[0]!.resource.attributes);
    assert.deepEqual(decoder.cacheBytes().resources, 0);
    assert.throws(() => new OtlpLogsDecoder({ maxCacheBytes: 0 }), /maxCacheBytes/);
  });

  it('cut the process id and service name kept for statistics to 256 characters', () => {
    const decoder = new OtlpLogsDecoder();
    const { perResource, records } = decoder.decode(requestWith('n'.repeat(1_000_000), 'scope'));
    assert.equal(perResource[0]!.entry.serviceName, 'n'.repeat(256));
    // the record's resource keeps the full value
    assert.equal((records[0]!.resource.attributes['service.name'] as string).length, 1_000_000);
  });

  it('reject a tag longer than 32 bits instead of reading its low bits as field 1', () => {
    const decoder = new OtlpLogsDecoder();
    // varint 2^32 + 10: the low 32 bits would be field 1, wire type LEN
    const body = Uint8Array.of(0x8a, 0x80, 0x80, 0x80, 0x10, 0x00);
    assert.throws(() => decoder.decode(body), /tag longer than 32 bits/);
    // a padded (non-canonical) tag below 2^32 is still fine
    assert.equal(
      decoder.decode(Uint8Array.of(0x8a, 0x80, 0x80, 0x80, 0x00, 0x00)).records.length,
      0,
    );
  });
});
