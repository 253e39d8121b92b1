/**
 * Offloading sealed batches while the application does not yield (moved out of
 * `otlp-shipping-processor.ts`, unchanged): an application that logs in one long synchronous
 * stretch never lets the event loop run the exports, so when a second batch is sealed before the
 * event loop turned, the oldest sealed batches leave the queue through the synchronous exporter's
 * worker thread, or, with the primary's hand-off directory, as hand-off files
 * (`handoff-offload.ts`). Used by `OtlpShippingProcessor`, which owns one `Offloader`.
 *
 * @module
 */
import type { SyncExporter } from '../multiprocess/child/sync-export.ts';
import type { HandoffRequest } from '../multiprocess/protocol/handoff.ts';
import { HandoffOffloads } from './handoff-offload.ts';
import { BACKPRESSURE_DETAILS, GrpcCode } from './retry.ts';
import type { ShippingStats } from './shipping-stats.ts';
import type { QueuedBatch } from './spill.ts';

/** Batches offloaded and not yet answered or ingested, at most (see `Offloader.onSealed`). */
const MAX_OFFLOADED = 4;
/** How long `onEmit` waits for the primary's answer to the oldest offloaded batch, at most, ms. */
const OFFLOAD_WAIT_MS = 1000;
/**
 * How long offloads rest after an offloaded batch failed or could not be offloaded (the primary
 * is gone or hung), ms: as long as the synchronous flush rests after a failure.
 */
const OFFLOAD_REST_MS = 1000;
/** How long offloads rest after the receiver answered an offloaded batch with backpressure, ms. */
const OFFLOAD_BUSY_REST_MS = 20;
/** How long after its deadline an unanswered offloaded batch is given up (retried), ms. */
const OFFLOAD_GIVE_UP_MS = 5000;
/** The outcome of a offloaded batch the worker could not deliver (retried, as an outage). */
const OFFLOAD_FAILED = {
  code: GrpcCode.UNAVAILABLE,
  details: 'starlog: the export through the worker thread failed',
};
/** The receiver answered a offloaded batch with backpressure (retried shortly). */
const OFFLOAD_BUSY = { code: GrpcCode.RESOURCE_EXHAUSTED, details: BACKPRESSURE_DETAILS };

/** `Atomics.waitAsync` (ES2024; Node ≥ 16), not in this project's `lib`. */
interface AtomicsWaitAsync {
  waitAsync(
    cells: Int32Array,
    index: number,
    value: number,
    timeoutMs: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
}

/** A batch handed to the worker thread: its result cells and the queue's completion. */
interface Offload {
  cells: Int32Array;
  deadline: number;
  done: (ok: boolean, error?: unknown) => void;
}

/** What an {@link Offloader} needs of the batch queue that owns it. */
export interface OffloadHost<T> {
  /** The queue's sealed batches, oldest first (read here, never changed). */
  readonly sealed: readonly QueuedBatch<T>[];
  /** Whether offloading is off now: the queue is retrying or shut down. */
  paused(): boolean;
  /** Takes the oldest sealed batches out of the queue, up to `records` (`_takeSealed`). */
  takeSealed(records: number): QueuedBatch<T>[];
  /** Sends `batch` the usual way; its export goes through `postToFile`/`postToWorker`. */
  send(batch: QueuedBatch<T>): void;
}

/**
 * The offloads of one `OtlpShippingProcessor`. When a second batch is sealed in `onEmit` before
 * the event loop turned (`onSealed`), the oldest sealed batches are sent while `sending` is true,
 * and the processor's export of each goes through `postToFile` (a hand-off file, when the
 * processor has the primary's hand-off directory and no write failed yet) or else `postToWorker`
 * (the synchronous exporter's worker thread, which sends it while the application goes on). At
 * most `MAX_OFFLOADED` (4) are unanswered; with that many, `onSealed` waits for the primary's
 * answer to the oldest (at most `OFFLOAD_WAIT_MS`, 1 s; then the batches stay queued and offloads
 * rest for a second): the primary is behind, and a child that waits leaves it the CPU. Answers are
 * read at the next seal or when the event loop turns. Offloads rest for a second after an
 * offloaded batch failed (20 ms after backpressure). Never throws on its own.
 */
export class Offloader<T> {
  private readonly _host: OffloadHost<T>;
  private readonly _sync: SyncExporter | undefined;
  /** the microtask queued at the last seal has not run: the event loop has not turned since */
  private _turnPending = false;
  private readonly _turned = (): void => {
    this._turnPending = false;
  };
  private _sending = false;
  private readonly _offloaded: Offload[] = [];
  /** batches offloaded as hand-off files (`handoffDir`); undefined after a write failed */
  private _handoffs: HandoffOffloads | undefined;
  private _restUntil = 0;
  private _offloads = 0;
  private _waits = 0;
  private _waitMs = 0;

  /**
   * @param host - the queue whose sealed batches are offloaded
   * @param sync - the synchronous exporter whose worker thread sends offloaded batches; without
   *   it nothing is offloaded
   * @param handoffDir - the primary's hand-off directory: with `sync`, batches are offloaded as
   *   hand-off files there instead (until a write fails)
   * @param handoffTo - the primary's pid: the files are addressed to it
   */
  constructor(
    host: OffloadHost<T>,
    sync: SyncExporter | undefined,
    handoffDir?: string,
    handoffTo?: number,
  ) {
    this._host = host;
    this._sync = sync;
    if (handoffDir && sync) this._handoffs = new HandoffOffloads(handoffDir, handoffTo);
  }

  /** Whether the batch being sent now is offloaded (set around `send()` by `onSealed`). */
  get sending(): boolean {
    return this._sending;
  }

  /** Whether offloaded batches go as hand-off files (see `postToFile`). */
  get toFiles(): boolean {
    return this._handoffs !== undefined;
  }

  /** Sets `offloaded`, `offloadWaits` and `offloadWaitMs` (see {@link ShippingStats}) in `s`. */
  addStats(s: ShippingStats): void {
    s.offloaded = this._offloads;
    s.offloadWaits = this._waits;
    s.offloadWaitMs = Math.round(this._waitMs);
  }

  /** A batch was just sealed in `onEmit`: offloads batches if the event loop has not turned. */
  onSealed(): void {
    if (!this._turnPending) {
      this._turnPending = true;
      queueMicrotask(this._turned);
      return;
    }
    this._offload();
  }

  /**
   * Offloads `request` (its bytes or parts, without a deadline: a file may be read later) as a hand-off file; `done`
   * is called once the primary ingested it, or with `false` when it was taken back unread.
   * Returns false when the file could not be written (then no more files: the worker thread).
   */
  postToFile(
    request: HandoffRequest,
    timeoutMs: number,
    done: (ok: boolean, error?: unknown) => void,
  ): boolean {
    const handoffs = this._handoffs as HandoffOffloads;
    const posted = handoffs.post(request, timeoutMs, (ok) => {
      if (ok) {
        done(true);
        return;
      }
      // taken back unread: the primary is hung or gone; retried the usual way
      this._restUntil = Date.now() + OFFLOAD_REST_MS;
      done(false, OFFLOAD_FAILED);
    });
    if (posted) this._offloads++;
    else this._handoffs = undefined;
    return posted;
  }

  /**
   * Hands `request` to the worker thread (`moved`: its buffer is transferred, not copied), which
   * sends it within `timeoutMs`; `done` is called with the primary's answer. Returns false when
   * there is no worker thread (then offloads rest and the batch goes the usual way).
   */
  postToWorker(
    request: Buffer,
    moved: boolean,
    timeoutMs: number,
    done: (ok: boolean, error?: unknown) => void,
  ): boolean {
    const workerDeadline = Date.now() + timeoutMs;
    const cells = this._sync?.post([request], workerDeadline, moved);
    if (cells !== undefined) {
      this._offloads++;
      this._offloaded.push({ cells, deadline: workerDeadline, done });
      const wait = (Atomics as unknown as AtomicsWaitAsync).waitAsync(cells, 0, 0, timeoutMs);
      if (wait.async) wait.value.then(() => this._readOffloaded());
      else this._readOffloaded();
      return true;
    }
    // no worker thread: this batch goes the usual way, and offloads rest
    this._restUntil = Date.now() + OFFLOAD_REST_MS;
    return false;
  }

  /**
   * Stops looking for the hand-off files and takes back those nobody claimed (after the shutdown
   * flush: batches given up on, see `HandoffOffloads.close`).
   */
  close(): void {
    this._handoffs?.close();
  }

  /**
   * Hands the oldest sealed batches over (see the class comment). Not while retrying, after
   * shutdown, without a synchronous exporter, or shortly after a offloaded batch failed.
   */
  private _offload(): void {
    const host = this._host;
    if (this._sync === undefined || host.paused()) return;
    this._readOffloaded();
    this._handoffs?.read();
    if (Date.now() < this._restUntil) return;
    while (host.sealed.length > 0 && Date.now() >= this._restUntil) {
      if (this._outstanding() >= MAX_OFFLOADED && !this._awaitOldest()) return;
      if (!((host.sealed[0] as QueuedBatch<T>).data instanceof Buffer)) return;
      const [batch] = host.takeSealed(1);
      if (batch === undefined) return;
      this._sending = true;
      try {
        host.send(batch);
      } finally {
        this._sending = false;
      }
    }
  }

  /** Offloaded batches not yet answered or ingested. */
  private _outstanding(): number {
    return this._offloaded.length + (this._handoffs?.size ?? 0);
  }

  /** Waits for the answer to the oldest offloaded batch; whether another may be offloaded now. */
  private _awaitOldest(): boolean {
    const handoffs = this._handoffs;
    if (handoffs !== undefined && handoffs.size > 0) {
      // the primary is behind: waiting leaves it the CPU
      const t0 = performance.now();
      handoffs.awaitOldest(OFFLOAD_WAIT_MS);
      this._waited(t0);
    } else {
      const oldest = this._offloaded[0] as Offload;
      const left = Math.min(OFFLOAD_WAIT_MS, oldest.deadline - Date.now());
      if (left > 0) {
        const t0 = performance.now();
        Atomics.wait(oldest.cells, 0, 0, left);
        this._waited(t0);
      }
    }
    this._readOffloaded();
    if (this._outstanding() < MAX_OFFLOADED) return Date.now() >= this._restUntil;
    this._restUntil = Date.now() + OFFLOAD_REST_MS;
    return false;
  }

  /** Counts a wait that began at `t0` (`performance.now()`). */
  private _waited(t0: number): void {
    this._waits++;
    this._waitMs += performance.now() - t0;
  }

  /** Completes the offloaded batches the worker has answered (or whose deadline passed long ago). */
  private _readOffloaded(): void {
    const list = this._offloaded;
    const now = Date.now();
    for (let i = 0; i < list.length; ) {
      const h = list[i] as Offload;
      const answered = Atomics.load(h.cells, 0) === 1;
      if (!answered && now < h.deadline + OFFLOAD_GIVE_UP_MS) {
        i++;
        continue;
      }
      list.splice(i, 1);
      const outcome = answered ? Atomics.load(h.cells, 1) : 0;
      if (outcome === 1) {
        h.done(true);
        continue;
      }
      const busy = outcome === 3;
      this._restUntil = now + (busy ? OFFLOAD_BUSY_REST_MS : OFFLOAD_REST_MS);
      h.done(false, busy ? OFFLOAD_BUSY : OFFLOAD_FAILED);
    }
  }
}
