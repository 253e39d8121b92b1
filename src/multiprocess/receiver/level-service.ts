/**
 * The receiver's level-control service (`starlog.v1.LevelControl`, see `level-control.ts`):
 * `Get` the primary's level table, `Set` a change, `Watch` it as a stream (children follow it).
 *
 * @module
 */
import {
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { diag } from '@opentelemetry/api';
import type { LevelTable } from '../../pipeline/level-table.ts';
import {
  applyLevelChange,
  decodeEmptyRequest,
  decodeLevelChange,
  encodeLevelMessage,
  LevelMessageError,
} from './level-control.ts';
import type { ReceiverLevelStats } from './receiver-types.ts';
import type { TokenCheck } from './token-check.ts';

type Watcher = ServerWritableStream<Buffer, Buffer>;

/** Handlers and state of the level-control service of one receiver. */
export class LevelService {
  private readonly counters = { gets: 0, sets: 0, invalidSets: 0, updatesSent: 0 };
  private readonly watchers = new Set<Watcher>();
  private readonly stopWatching: () => void;
  private accepting = true;
  private readonly levels: LevelTable;
  private readonly token: TokenCheck;
  private readonly maxWatchers: number;

  constructor(levels: LevelTable, token: TokenCheck, maxWatchers: number) {
    this.levels = levels;
    this.token = token;
    this.maxWatchers = maxWatchers;
    this.stopWatching = levels.onChange(() => {
      if (this.watchers.size === 0) return;
      const message = this.current();
      for (const call of this.watchers) this.send(call, message);
    });
  }

  /** The handlers to pass to `server.addService(LEVEL_CONTROL_SERVICE, …)`. */
  handlers() {
    return {
      Get: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
        this.get(call, callback),
      Set: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
        this.set(call, callback),
      Watch: (call: Watcher) => this.watch(call),
    };
  }

  stats(): ReceiverLevelStats {
    return { ...this.counters, watchers: this.watchers.size };
  }

  /** Stops accepting watchers and ends every `Watch` stream with status OK (children keep their table). */
  close(): void {
    this.accepting = false;
    this.stopWatching();
    for (const call of this.watchers) {
      try {
        call.end(); // status OK: the child keeps its last table
      } catch {
        // the stream is already gone
      }
    }
    this.watchers.clear();
  }

  private current(): Buffer {
    return encodeLevelMessage({ spec: this.levels.toString(), version: this.levels.version });
  }

  private send(call: Watcher, message: Buffer): void {
    try {
      call.write(message);
      this.counters.updatesSent++;
    } catch (err) {
      diag.warn('starlog receiver: could not write to a level watcher', err);
      this.watchers.delete(call);
    }
  }

  private get(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void {
    if (!this.token.check(call.metadata)) {
      callback(this.token.error);
      return;
    }
    try {
      decodeEmptyRequest(call.request, 'Get request');
    } catch (err) {
      callback({ code: status.INVALID_ARGUMENT, details: (err as Error).message });
      return;
    }
    this.counters.gets++;
    callback(null, this.current());
  }

  private set(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void {
    if (!this.token.check(call.metadata)) {
      callback(this.token.error);
      return;
    }
    let state: { spec: string; version: number };
    try {
      state = applyLevelChange(this.levels, decodeLevelChange(call.request));
    } catch (err) {
      this.counters.invalidSets++;
      const message = err instanceof Error ? err.message : String(err);
      const details = err instanceof LevelMessageError ? `starlog: ${message}` : message;
      diag.warn(`starlog receiver: rejected a level change: ${details}`);
      callback({ code: status.INVALID_ARGUMENT, details });
      return;
    }
    this.counters.sets++;
    callback(null, encodeLevelMessage(state));
  }

  private watch(call: Watcher): void {
    if (!this.token.check(call.metadata)) {
      call.emit('error', this.token.error);
      return;
    }
    try {
      decodeEmptyRequest(call.request, 'Watch request');
    } catch (err) {
      call.emit('error', { code: status.INVALID_ARGUMENT, details: (err as Error).message });
      return;
    }
    if (!this.accepting) {
      call.emit('error', { code: status.UNAVAILABLE, details: 'starlog receiver: closing' });
      return;
    }
    if (this.watchers.size >= this.maxWatchers) {
      call.emit('error', {
        code: status.RESOURCE_EXHAUSTED,
        details: `starlog receiver: more than ${this.maxWatchers} level watchers`,
      });
      return;
    }
    this.watchers.add(call);
    const drop = () => {
      this.watchers.delete(call);
    };
    call.on('cancelled', drop);
    call.on('error', drop);
    call.on('close', drop);
    this.send(call, this.current());
  }
}
