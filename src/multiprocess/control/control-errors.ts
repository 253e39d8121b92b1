/**
 * The errors of the control clients (`level-client.ts`, `primary-control.ts`), in a module of
 * their own: the public entry exports them without loading the clients (grpc-js) at start-up.
 *
 * @module
 */

/** Why a level-control call failed; `code` is the gRPC status code. */
export class LevelControlError extends Error {
  override name = 'LevelControlError';
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** Why a control call failed: the primary's message (or why none answered) and the gRPC code. */
export class PrimaryControlError extends Error {
  override name = 'PrimaryControlError';
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}
