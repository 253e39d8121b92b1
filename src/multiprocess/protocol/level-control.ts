/**
 * The level-control protocol between a primary and everything that changes or follows its level
 * table: the gRPC service `starlog.v1.LevelControl` served by the receiver (same socket, same
 * token as the logs service), its messages, and the merge rule of a level change.
 *
 * Messages are UTF-8 JSON objects (one per gRPC message), decoded strictly: a fatal UTF-8
 * decoder, `JSON.parse` (data only, nothing is ever evaluated), then a check of every key and
 * type; unknown keys, wrong types and oversized messages are rejected.
 *
 * | method                                  | kind             | request                         | response(s)           |
 * |-----------------------------------------|------------------|---------------------------------|-----------------------|
 * | `/starlog.v1.LevelControl/Get`          | unary            | empty or `{}`                   | {@link LevelState}    |
 * | `/starlog.v1.LevelControl/Set`          | unary            | {@link LevelChange}             | {@link LevelState}    |
 * | `/starlog.v1.LevelControl/Watch`        | server streaming | empty or `{}`                   | {@link LevelState} now, then one per change |
 *
 * @module
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { rawMethod } from '../../otlp/grpc-methods.ts';
import {
  formatLevelSpec,
  type LevelSpec,
  type LevelTable,
  parseLevelSpec,
} from '../../pipeline/level-table.ts';

/** gRPC method path of `Get`. */
export const LEVEL_GET_PATH = '/starlog.v1.LevelControl/Get';
/** gRPC method path of `Set`. */
export const LEVEL_SET_PATH = '/starlog.v1.LevelControl/Set';
/** gRPC method path of `Watch`. */
export const LEVEL_WATCH_PATH = '/starlog.v1.LevelControl/Watch';

/**
 * Largest level-control message accepted either way, in bytes (320 KiB): room for the largest
 * table (`MAX_LEVEL_RULES` rules of `MAX_LEVEL_PATTERN_LENGTH` characters, level-table.ts), so that
 * every table the primary accepts can be answered and streamed.
 */
export const MAX_LEVEL_MESSAGE_BYTES = 320 * 1024;

/** The primary's level table as sent by `Get`, `Set` and `Watch`. */
export interface LevelState {
  /** The whole table in the form `parseLevelSpec` reads, e.g. `'info,app.db=debug'`. */
  spec: string;
  /** The primary table's `version` (increases by one on every change; only comparable within one primary). */
  version: number;
}

/**
 * A change of the level table (the `Set` request).
 *
 * - Merge (default, `replace` false): a bare level (`'warn'`, or `'*=warn'`) sets the default;
 *   each `pattern=level` replaces the rule for exactly that pattern, or adds it at the end; every
 *   other rule stays. `starlog level set app.db=debug` therefore only touches `app.db`.
 * - `replace: true`: `spec` becomes the whole table (a default missing from it is `info`).
 * - `unset`: patterns whose rules are removed (after the merge); a pattern without a rule is
 *   ignored.
 */
export interface LevelChange {
  /** Level entries, comma separated, e.g. `'app.db=debug,app.http=warn'`. May be empty when `unset` is given (not with `replace`). */
  spec: string;
  /** Replace the whole table instead of merging. Default false. */
  replace?: boolean;
  /** Logger patterns whose rules are removed. Default none. */
  unset?: string[];
}

/** A level-control message that does not have the documented shape. */
export class LevelMessageError extends Error {
  override name = 'LevelMessageError';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The hand-made service definition (raw bytes in and out; the handlers decode). */
export const LEVEL_CONTROL_SERVICE: ServiceDefinition = {
  Get: rawMethod(LEVEL_GET_PATH, 'get'),
  Set: rawMethod(LEVEL_SET_PATH, 'set'),
  Watch: rawMethod(LEVEL_WATCH_PATH, 'watch', true),
};

/** Encodes a message as UTF-8 JSON. */
export function encodeLevelMessage(
  message: LevelState | LevelChange | Record<string, never>,
): Buffer {
  return Buffer.from(JSON.stringify(message), 'utf8');
}

function parseObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.length > MAX_LEVEL_MESSAGE_BYTES) {
    throw new LevelMessageError(
      `${what} is ${bytes.length} bytes; at most ${MAX_LEVEL_MESSAGE_BYTES} are accepted`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    throw new LevelMessageError(
      `${what} is not UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LevelMessageError(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new LevelMessageError(`${what} has an unknown field ${JSON.stringify(key)}`);
    }
  }
}

/** Checks a `Get`/`Watch` request: empty, or the JSON object `{}`. */
export function decodeEmptyRequest(bytes: Uint8Array, what = 'request'): void {
  if (bytes.length === 0) return;
  checkKeys(parseObject(bytes, what), [], what);
}

/** Decodes a {@link LevelState} (a `Get`/`Set` response or a `Watch` message). */
export function decodeLevelState(bytes: Uint8Array): LevelState {
  const obj = parseObject(bytes, 'level state');
  checkKeys(obj, ['spec', 'version'], 'level state');
  const { spec, version } = obj;
  if (typeof spec !== 'string') throw new LevelMessageError('level state: spec must be a string');
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new LevelMessageError('level state: version must be an integer >= 0');
  }
  return { spec, version };
}

/** Decodes a `Set` request ({@link LevelChange}). */
export function decodeLevelChange(bytes: Uint8Array): LevelChange {
  const obj = parseObject(bytes, 'level change');
  checkKeys(obj, ['spec', 'replace', 'unset'], 'level change');
  const { spec, replace, unset } = obj;
  if (typeof spec !== 'string') throw new LevelMessageError('level change: spec must be a string');
  if (replace !== undefined && typeof replace !== 'boolean') {
    throw new LevelMessageError('level change: replace must be true or false');
  }
  if (
    unset !== undefined &&
    (!Array.isArray(unset) || unset.length > 1024 || !unset.every((p) => typeof p === 'string'))
  ) {
    throw new LevelMessageError('level change: unset must be a list of at most 1024 strings');
  }
  const change: LevelChange = { spec };
  if (replace !== undefined) change.replace = replace;
  if (unset !== undefined) change.unset = unset as string[];
  return change;
}

/**
 * Computes the table that results from applying `change` to `current` (see {@link LevelChange}).
 *
 * @throws Error naming the offending entry (unknown level, malformed pattern), or saying that
 *   the change is empty; nothing is modified
 */
export function mergeLevelChange(current: LevelSpec, change: LevelChange): LevelSpec {
  const unset = change.unset ?? [];
  for (const pattern of unset) {
    // the same pattern rules as a level string: validate through the parser
    try {
      parseLevelSpec(`${pattern}=info`);
    } catch {
      throw new Error(
        `starlog: malformed logger pattern '${pattern}' to unset (expected a name like app.db or a prefix like app.*)`,
      );
    }
    if (pattern.trim() === '*') {
      throw new Error(`starlog: cannot unset '*' (the default); set a default level instead`);
    }
  }
  if (change.replace === true) {
    if (change.spec.trim() === '')
      throw new Error('starlog: a replacing level change needs a spec');
    const next = parseLevelSpec(change.spec);
    return withoutPatterns(next, unset);
  }
  if (change.spec.trim() === '' && unset.length === 0) {
    throw new Error(
      'starlog: empty level change (give entries like app.db=debug, or patterns to unset)',
    );
  }
  const delta = parseLevelSpec(change.spec, current.defaultMinSeverity);
  const rules = current.rules.map((r) => ({ ...r }));
  const at = new Map(rules.map((r, i) => [r.pattern, i]));
  for (const rule of delta.rules) {
    const i = at.get(rule.pattern);
    if (i === undefined) {
      at.set(rule.pattern, rules.length);
      rules.push({ ...rule });
    } else rules[i] = { ...rule };
  }
  return withoutPatterns({ defaultMinSeverity: delta.defaultMinSeverity, rules }, unset);
}

function withoutPatterns(spec: LevelSpec, unset: readonly string[]): LevelSpec {
  if (unset.length === 0) return spec;
  const drop = new Set(unset.map((p) => p.trim()));
  return {
    defaultMinSeverity: spec.defaultMinSeverity,
    rules: spec.rules.filter((r) => !drop.has(r.pattern)),
  };
}

/**
 * Applies `change` to `table` (merge, replace or unset; see {@link LevelChange}). When the result
 * equals the current table nothing is set (no version bump, no listeners called).
 *
 * @returns the table's state afterwards
 * @throws Error naming the offending entry; the table is left as it was
 */
export function applyLevelChange(table: LevelTable, change: LevelChange): LevelState {
  const next = mergeLevelChange(table.get(), change);
  if (formatLevelSpec(next) !== table.toString()) table.set(next);
  return { spec: table.toString(), version: table.version };
}
