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
} from '../protocol/level-control.ts';
import type { ReceiverLevelStats } from './receiver-types.ts';
import type { TokenCheck } from './token-check.ts';

type Watcher = ServerWritableStream<Buffer, Buffer>;

/** Handlers and state of the level-control service of one receiver. */
export class LevelService {
  private readonly counters = {
    gets: 0,
    sets: 0,
    invalidSets: 0,
    updatesSent: 0,
    watchersClosed: 0,
  };
  /** open streams and their connection, oldest first (Map order) */
  private readonly watchers = new Map<Watcher, object | undefined>();
  /** open streams by connection, oldest first */
  private readonly byConnection = new Map<object, Set<Watcher>>();
  private readonly stopWatching: () => void;
  private accepting = true;
  private readonly levels: LevelTable;
  private readonly token: TokenCheck;
  private readonly maxWatchers: number;
  private readonly maxPerConnection: number;

  constructor(
    levels: LevelTable,
    token: TokenCheck,
    maxWatchers: number,
    maxPerConnection: number,
  ) {
    this.levels = levels;
    this.token = token;
    this.maxWatchers = maxWatchers;
    this.maxPerConnection = maxPerConnection;
    this.stopWatching = levels.onChange(() => {
      if (this.watchers.size === 0) return;
      const message = this.current();
      for (const call of this.watchers.keys()) this.send(call, message);
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
    for (const call of this.watchers.keys()) {
      try {
        call.end(); // status OK: the child keeps its last table
      } catch {
        // the stream is already gone
      }
    }
    this.watchers.clear();
    this.byConnection.clear();
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
      this.forget(call);
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
    if (this.maxWatchers === 0) {
      call.emit('error', {
        code: status.RESOURCE_EXHAUSTED,
        details: 'starlog receiver: level watchers are off (maxLevelWatchers 0)',
      });
      return;
    }
    const connection = connectionOf(call);
    const mine = connection === undefined ? undefined : this.byConnection.get(connection);
    if (mine !== undefined && mine.size >= this.maxPerConnection) {
      this.evict(
        mine.values().next().value as Watcher,
        `at most ${this.maxPerConnection} per connection`,
      );
    }
    if (this.watchers.size >= this.maxWatchers) {
      this.evict(this.oldestIdle(), `at most ${this.maxWatchers} in all`);
    }
    this.watchers.set(call, connection);
    if (connection !== undefined) {
      let set = this.byConnection.get(connection);
      if (set === undefined) {
        set = new Set();
        this.byConnection.set(connection, set);
      }
      set.add(call);
    }
    const drop = () => this.forget(call);
    call.on('cancelled', drop);
    call.on('error', drop);
    call.on('close', drop);
    this.send(call, this.current());
  }

  /** The oldest stream on a connection holding several, else the oldest stream. */
  private oldestIdle(): Watcher {
    for (const [call, connection] of this.watchers) {
      if (connection !== undefined && (this.byConnection.get(connection)?.size ?? 0) > 1)
        return call;
    }
    return this.watchers.keys().next().value as Watcher;
  }

  private evict(call: Watcher, why: string): void {
    this.forget(call);
    this.counters.watchersClosed++;
    try {
      call.emit('error', {
        code: status.RESOURCE_EXHAUSTED,
        details: `starlog receiver: level watch closed for a newer one (${why})`,
      });
    } catch {
      // the stream is already gone
    }
  }

  private forget(call: Watcher): void {
    const connection = this.watchers.get(call);
    if (!this.watchers.delete(call) || connection === undefined) return;
    const set = this.byConnection.get(connection);
    set?.delete(call);
    if (set?.size === 0) this.byConnection.delete(connection);
  }
}

/**
 * The HTTP/2 session a server stream belongs to. grpc-js has no public API that names a call's
 * connection; this reads its internal fields (`call.call[.nextCall].stream.session`) and gives
 * `undefined` when they are not there (then only the total limit applies).
 */
function connectionOf(call: Watcher): object | undefined {
  type Inner = { stream?: { session?: unknown }; nextCall?: Inner };
  try {
    // without server interceptors `call.call` holds the HTTP/2 stream itself, else one level down
    let inner = (call as unknown as { call?: Inner }).call;
    for (let depth = 0; inner !== undefined && depth < 4; depth++) {
      const session = inner.stream?.session;
      if (typeof session === 'object' && session !== null) return session;
      inner = inner.nextCall;
    }
  } catch {
    // not the shape this grpc-js version has
  }
  return undefined;
}
