/**
 * The primary's control service `starlog.v1.PrimaryControl`, served by the receiver next to the
 * level control (same socket, same token), and its client (`starlog config reload`,
 * `starlog file reopen`).
 *
 * | method                                   | request | response            |
 * |------------------------------------------|---------|---------------------|
 * | `/starlog.v1.PrimaryControl/Reload`      | `{}`    | {@link ReloadAnswer} |
 * | `/starlog.v1.PrimaryControl/ReopenFile`  | `{}`    | {@link ReopenAnswer} |
 *
 * Messages are UTF-8 JSON objects. A reload the primary cannot do (it read no configuration file
 * at start) is answered `FAILED_PRECONDITION`, an invalid file `INVALID_ARGUMENT`, each with a
 * one-line message; nothing changes then.
 *
 * @module
 */
import {
  Client,
  credentials,
  Metadata,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { rawMethod } from '../../otlp/grpc-methods.ts';
import { TOKEN_METADATA_KEY } from '../protocol/token.ts';
import type { ExtraService } from '../receiver/receiver.ts';
import { PrimaryControlError } from './control-errors.ts';

export { PrimaryControlError };

/** gRPC method path of `Reload`. */
export const RELOAD_PATH = '/starlog.v1.PrimaryControl/Reload';
/** gRPC method path of `ReopenFile`. */
export const REOPEN_FILE_PATH = '/starlog.v1.PrimaryControl/ReopenFile';

/** What a primary answers to `Reload`. */
export interface ReloadAnswer {
  /** The configuration file read again. */
  file: string;
  /** Key paths applied, e.g. `['levels', 'status.interval']`. */
  applied: string[];
  /** Key paths whose effective value changed but which take effect only after a restart. */
  needsRestart: string[];
}

/** What a primary answers to `ReopenFile`. */
export interface ReopenAnswer {
  /** The JSON-lines file reopened. */
  path: string;
  /** Whether it is open afterwards (false: it could not be created; lines are counted as dropped). */
  open: boolean;
}

/** A refusal the primary sends back with a gRPC status (see the module doc). */
export class ControlRefusal extends Error {
  override name = 'ControlRefusal';
  readonly code: number;
  constructor(message: string, code: number = status.FAILED_PRECONDITION) {
    super(message);
    this.code = code;
  }
}

/** What the primary does for each request; thrown {@link ControlRefusal}s become the answer. */
export interface PrimaryControlHandlers {
  reload(): Promise<ReloadAnswer>;
  reopenFile(): ReopenAnswer;
}

/** The service for `ReceiverOptions.services`. */
export function primaryControlService(handlers: PrimaryControlHandlers): ExtraService {
  return {
    definition: {
      Reload: rawMethod(RELOAD_PATH, 'reload'),
      ReopenFile: rawMethod(REOPEN_FILE_PATH, 'reopenFile'),
    },
    handlers: (authenticated) => {
      const unary =
        (fn: () => Promise<unknown> | unknown) =>
        (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
          if (!authenticated(call.metadata)) {
            callback({
              code: status.UNAUTHENTICATED,
              details: `starlog receiver: missing or wrong ${TOKEN_METADATA_KEY}`,
            });
            return;
          }
          if (call.request.length > 1024) {
            callback({ code: status.INVALID_ARGUMENT, details: 'request too large' });
            return;
          }
          Promise.resolve()
            .then(fn)
            .then(
              (answer) => callback(null, Buffer.from(JSON.stringify(answer), 'utf8')),
              (err: unknown) =>
                callback({
                  code: err instanceof ControlRefusal ? err.code : status.INTERNAL,
                  details: err instanceof Error ? err.message : String(err),
                }),
            );
        };
      return {
        Reload: unary(() => handlers.reload()),
        ReopenFile: unary(() => handlers.reopenFile()),
      };
    },
  };
}

function target(endpoint: string): string {
  const m = /^http:\/\/([^/]+)\/?$/.exec(endpoint.trim());
  return m ? (m[1] as string) : endpoint.trim();
}

function callPrimary<T>(
  where: { endpoint: string; token: string; timeoutMs?: number },
  path: string,
): Promise<T> {
  const client = new Client(target(where.endpoint), credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set(TOKEN_METADATA_KEY, where.token);
  return new Promise<T>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from('{}'),
      metadata,
      { deadline: Date.now() + (where.timeoutMs ?? 10_000) },
      (err: ServiceError | null, response?: Buffer) => {
        client.close();
        if (err) {
          const message =
            err.code === status.UNAVAILABLE
              ? `no starlog primary answers at ${where.endpoint} (${err.details})`
              : err.code === status.UNIMPLEMENTED
                ? `the primary at ${where.endpoint} does not serve ${path} (an older starlog?)`
                : err.details || err.message;
          reject(new PrimaryControlError(message, err.code));
          return;
        }
        try {
          resolve(JSON.parse((response ?? Buffer.alloc(0)).toString('utf8')) as T);
        } catch {
          reject(new PrimaryControlError('the primary sent a malformed answer', status.INTERNAL));
        }
      },
    );
  });
}

/**
 * Asks the primary to read its configuration file again and apply what can change while it runs.
 *
 * @throws PrimaryControlError (rejects) with the primary's message: no configuration file
 *   (`FAILED_PRECONDITION`), an invalid file (`INVALID_ARGUMENT`), no primary (`UNAVAILABLE`),
 *   a wrong token (`UNAUTHENTICATED`)
 */
export function requestReload(where: {
  endpoint: string;
  token: string;
  timeoutMs?: number;
}): Promise<ReloadAnswer> {
  return callPrimary<ReloadAnswer>(where, RELOAD_PATH);
}

/**
 * Asks the primary to reopen its JSON-lines file (after logrotate moved it away).
 *
 * @throws PrimaryControlError (rejects): no file destination (`FAILED_PRECONDITION`), no primary,
 *   a wrong token
 */
export function requestFileReopen(where: {
  endpoint: string;
  token: string;
  timeoutMs?: number;
}): Promise<ReopenAnswer> {
  return callPrimary<ReopenAnswer>(where, REOPEN_FILE_PATH);
}
