/**
 * Get and change a primary's level table from another process (the `starlog level` command, or
 * any code holding the endpoint and token): unary calls to `/starlog.v1.LevelControl/Get` and
 * `/Set` on the primary's receiver (see `level-control.ts`).
 *
 * @module
 */
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { grpcChannelTarget, parseEndpointAddress } from '../protocol/endpoint.ts';
import {
  decodeLevelState,
  encodeLevelMessage,
  LEVEL_GET_PATH,
  LEVEL_SET_PATH,
  type LevelChange,
  type LevelState,
} from '../protocol/level-control.ts';
import { TOKEN_METADATA_KEY } from '../protocol/token.ts';
import { LevelControlError } from './control-errors.ts';

export { LevelControlError };

/** Where the primary is and how to authenticate. */
export interface LevelClientOptions {
  /** the primary's receiver target, e.g. `unix:///tmp/starlog-abc/receiver.sock` or `http://127.0.0.1:4711` */
  endpoint: string;
  /** the receiver token (hex), sent as metadata `x-starlog-token` */
  token: string;
  /** Deadline of the call, ms. Default 5000. */
  timeoutMs?: number;
}

/** Options of {@link setLevels}: where, plus the change (see {@link LevelChange}). */
export interface SetLevelsOptions extends LevelClientOptions, LevelChange {}

function explain(err: ServiceError, endpoint: string): LevelControlError {
  const details = err.details || err.message;
  switch (err.code) {
    case status.UNAVAILABLE:
      return new LevelControlError(
        `no starlog primary answers at ${endpoint} (${details})`,
        err.code,
      );
    case status.UNAUTHENTICATED:
      return new LevelControlError(
        `the primary at ${endpoint} refused the token (wrong or missing token)`,
        err.code,
      );
    case status.INVALID_ARGUMENT:
      return new LevelControlError(details.replace(/^starlog: /, ''), err.code);
    case status.UNIMPLEMENTED:
      return new LevelControlError(
        `the receiver at ${endpoint} does not serve level control (started without a level table)`,
        err.code,
      );
    case status.DEADLINE_EXCEEDED:
      return new LevelControlError(`no answer from ${endpoint} in time (${details})`, err.code);
    default:
      return new LevelControlError(`level control at ${endpoint} failed: ${details}`, err.code);
  }
}

function call(options: LevelClientOptions, path: string, body: Buffer): Promise<LevelState> {
  const { endpoint, token } = options;
  const timeoutMs = options.timeoutMs ?? 5000;
  if (typeof endpoint !== 'string' || endpoint.trim() === '') {
    return Promise.reject(new TypeError('starlog: level control needs an endpoint'));
  }
  if (typeof token !== 'string' || token === '') {
    return Promise.reject(new TypeError('starlog: level control needs the primary token'));
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    return Promise.reject(
      new TypeError(`starlog: timeoutMs must be a positive number of ms; got ${timeoutMs}`),
    );
  }
  let client: Client;
  try {
    client = new Client(
      grpcChannelTarget(parseEndpointAddress(endpoint, 'endpoint')),
      credentials.createInsecure(),
    );
  } catch (err) {
    return Promise.reject(
      new LevelControlError(
        `bad endpoint ${JSON.stringify(endpoint)}: ${(err as Error).message}`,
        status.INVALID_ARGUMENT,
      ),
    );
  }
  const metadata = new Metadata();
  metadata.set(TOKEN_METADATA_KEY, token);
  return new Promise<LevelState>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err, response) => {
        client.close();
        if (err) return reject(explain(err, endpoint));
        try {
          resolve(decodeLevelState(response ?? Buffer.alloc(0)));
        } catch (e) {
          reject(
            new LevelControlError(
              `the primary at ${endpoint} sent a malformed answer: ${(e as Error).message}`,
              status.INTERNAL,
            ),
          );
        }
      },
    );
  });
}

/**
 * The primary's current level table.
 *
 * @throws LevelControlError (rejects) when no primary answers (`UNAVAILABLE`), the token is
 *   refused (`UNAUTHENTICATED`), the receiver has no level control (`UNIMPLEMENTED`) or the
 *   deadline passes; TypeError for a missing endpoint/token
 */
export function getLevels(options: LevelClientOptions): Promise<LevelState> {
  return call(options, LEVEL_GET_PATH, Buffer.alloc(0));
}

/**
 * Changes the primary's level table: merges `spec` into it by default, replaces it with
 * `replace: true`, removes the rules of `unset` patterns (see {@link LevelChange}). Every child
 * following the primary (`subscribeLevels`) applies the result, usually within milliseconds.
 *
 * @returns the table after the change
 * @throws LevelControlError (rejects) as {@link getLevels}, and with code `INVALID_ARGUMENT` and a
 *   message naming the bad entry (e.g. `unknown level 'loud' in 'app.db=loud'`) for an invalid
 *   change, which leaves the table as it was
 */
export function setLevels(options: SetLevelsOptions): Promise<LevelState> {
  const change: LevelChange = { spec: options.spec };
  if (options.replace !== undefined) change.replace = options.replace;
  if (options.unset !== undefined) change.unset = options.unset;
  return call(options, LEVEL_SET_PATH, encodeLevelMessage(change));
}
