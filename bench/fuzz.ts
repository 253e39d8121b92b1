/**
 * The long fuzz run of the receiver: by default 200,000 inputs (the hostile set of
 * test/support/fuzz/corpus.ts first, then mutated official-serializer requests and random bytes)
 * sent over the private unix socket to a receiver in its own process (started with --expose-gc),
 * 16 calls in flight, 15 s deadline per call. Every answer is checked as in
 * test/fuzz-receiver.test.ts. Prints inputs/s, answers by gRPC code, the receiver process's heap
 * (after a full GC) and RSS every 50,000 inputs, and a final JSON line.
 *
 * Usage: FUZZ_SEED=<n> ./node_modules/.bin/node bench/fuzz.ts [inputs=200000] [concurrency=16]
 * (without FUZZ_SEED a random seed is used and printed). Exit code 1 when a rule was broken.
 */
import { randomInt } from 'node:crypto';
import {
  type FuzzInput,
  fuzzInputs,
  fuzzSeed,
  hostileInputs,
  makeSeeds,
  Prng,
  validRequest,
} from '../test/support/fuzz/corpus.ts';
import {
  emptyOutcome,
  type FuzzOutcome,
  type HeapReport,
  RawExportClient,
  runFuzz,
  startHost,
} from '../test/support/fuzz/driver.ts';

const total = Number(process.argv[2] ?? 200_000);
const concurrency = Number(process.argv[3] ?? 16);
const seed = fuzzSeed(randomInt(0, 2 ** 32));
const CHUNK = 50_000;
const MiB = 1024 * 1024;

function* take<T>(it: Iterator<T>, n: number): Generator<T> {
  for (let i = 0; i < n; i++) {
    const next = it.next();
    if (next.done) return;
    yield next.value;
  }
}

function merge(into: FuzzOutcome, add: FuzzOutcome): void {
  const offset = into.inputs;
  into.inputs += add.inputs;
  into.expectedRecords += add.expectedRecords;
  into.bytesSent += add.bytesSent;
  into.violationCount += add.violationCount;
  for (const [k, v] of Object.entries(add.byCode)) into.byCode[k] = (into.byCode[k] ?? 0) + v;
  for (const [kind, codes] of Object.entries(add.byKind)) {
    into.byKind[kind] ??= {};
    const target = into.byKind[kind]!;
    for (const [k, v] of Object.entries(codes)) target[k] = (target[k] ?? 0) + v;
  }
  into.handlerAnswers.ok += add.handlerAnswers.ok;
  into.handlerAnswers.invalidArgument += add.handlerAnswers.invalidArgument;
  into.handlerAnswers.resourceExhausted += add.handlerAnswers.resourceExhausted;
  for (const v of add.violations)
    if (into.violations.length < 50) into.violations.push({ ...v, index: v.index + offset });
}

const mib = (n: number): string => (n / MiB).toFixed(1);

console.log(
  `fuzz: seed ${seed} (replay: FUZZ_SEED=${seed}), ${total} inputs, ${concurrency} in flight`,
);
const host = await startHost();
const client = new RawExportClient(host.endpoint, host.token);
const seeds = await makeSeeds();
for (let i = 0; i < 200; i++) await client.call(seeds[i % seeds.length]!, 15_000);
const warm = await host.heap();
console.log(`baseline after warm-up: heap ${mib(warm.heapUsed)} MiB, rss ${mib(warm.rss)} MiB`);

const rng = new Prng(seed);
const hostile = hostileInputs(host.maxMessageBytes);
const inputs: Iterator<FuzzInput> = fuzzInputs(rng, seeds, total, hostile)[Symbol.iterator]();
const outcome: FuzzOutcome = emptyOutcome();
const samples: { inputs: number; heapMiB: number; rssMiB: number }[] = [];
let peakRss = warm.rss;
const started = performance.now();
let last: HeapReport = warm;
while (outcome.inputs < total) {
  const chunk = await runFuzz(client, take(inputs, Math.min(CHUNK, total - outcome.inputs)), {
    concurrency,
    deadlineMs: 15_000,
  });
  if (chunk.inputs === 0) break;
  merge(outcome, chunk);
  last = await host.heap();
  peakRss = Math.max(peakRss, last.rss);
  samples.push({ inputs: outcome.inputs, heapMiB: +mib(last.heapUsed), rssMiB: +mib(last.rss) });
  const secs = (performance.now() - started) / 1000;
  console.log(
    `  ${outcome.inputs} inputs  ${Math.round(outcome.inputs / secs)}/s  heap ${mib(last.heapUsed)} MiB  rss ${mib(last.rss)} MiB  violations ${outcome.violationCount}`,
  );
}
const seconds = (performance.now() - started) / 1000;

// the receiver still ingests valid requests exactly
await host.capture();
const bodies = Array.from({ length: 100 }, (_, i) => `after fuzz ${i}`);
const finalErr = await client.call(validRequest(bodies), 15_000);
const captured = await host.captured();
const exactAfter =
  finalErr === null &&
  captured.length === bodies.length &&
  captured.every((r, i) => r.body === bodies[i]);
const recordsOk = last.records - warm.records === outcome.expectedRecords;

client.close();
await host.close();

console.log(
  `\n${outcome.inputs} inputs in ${seconds.toFixed(1)} s: ${Math.round(outcome.inputs / seconds)} inputs/s, ${mib(outcome.bytesSent)} MiB sent`,
);
console.log('answers by gRPC code:', outcome.byCode);
console.log(
  `receiver counters: ${last.stats.rejected.invalidArgument} invalid, ${last.stats.rejected.resourceExhausted} over a decoder limit, ${last.records - warm.records} records ingested (expected ${outcome.expectedRecords})`,
);
console.log(
  `receiver process: heap after GC ${mib(warm.heapUsed)} → ${mib(last.heapUsed)} MiB, rss ${mib(warm.rss)} → ${mib(last.rss)} MiB (peak sampled ${mib(peakRss)} MiB)`,
);
console.log(`valid requests after the run ingested exactly: ${exactAfter}`);
if (outcome.violationCount > 0) {
  console.log(`VIOLATIONS: ${outcome.violationCount}`);
  for (const v of outcome.violations.slice(0, 10)) console.log('  ', JSON.stringify(v));
}
const pass = outcome.violationCount === 0 && exactAfter && recordsOk;
console.log(
  JSON.stringify({
    bench: 'fuzz',
    seed,
    inputs: outcome.inputs,
    concurrency,
    seconds: +seconds.toFixed(2),
    inputsPerSecond: Math.round(outcome.inputs / seconds),
    mibSent: +mib(outcome.bytesSent),
    byCode: outcome.byCode,
    recordsIngested: last.records - warm.records,
    recordsExpected: outcome.expectedRecords,
    heapBeforeMiB: +mib(warm.heapUsed),
    heapAfterMiB: +mib(last.heapUsed),
    rssBeforeMiB: +mib(warm.rss),
    rssAfterMiB: +mib(last.rss),
    samples,
    violations: outcome.violationCount,
    exactAfter,
    pass,
  }),
);
process.exitCode = pass ? 0 : 1;
