import type { AttributeValue } from '@opentelemetry/api';
import { z } from 'zod';
import { TEMPLATE_FIELDS } from '../exporters/pretty-console.ts';
import { isReceiverEndpoint } from '../multiprocess/protocol/endpoint.ts';
import { formatLevelSpec, parseLevelSpec } from '../pipeline/level-table.ts';
import { parseLevel } from '../severity.ts';
import { parseDuration } from '../util/duration.ts';
import { parseSize } from '../util/size.ts';
import {
  checkLevelString,
  isCollectorEndpoint,
  LEVEL_EXPECTED,
  PATTERN_EXPECTED,
} from './checks.ts';
import type { StarlogConfig } from './config-types.ts';
import { describeValue } from './errors.ts';

// the zod-free checks, re-exported where they were
export { checkLevelString, isCollectorEndpoint } from './checks.ts';

/*
 * The schema of starlog.config.yaml / starlog.config.json (zod 4). Every leaf is a custom
 * parser that reports `expected …, got …` in one format, and returns the normalized value
 * (durations and sizes in ms and bytes, levels in the canonical string form). Every section is
 * a strict object: an unknown key is an error naming its path. See
 * examples/config/starlog.config.yaml for the documented file.
 */

/** Largest delay a Node.js timer accepts: 2^31 − 1 ms (about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

type Ctx = z.core.$RefinementCtx<unknown>;

/** Adds one `expected …, got …` issue; `path` is relative to the value, `atKey` points YAML positions at the key. */
function fail(
  ctx: Ctx,
  expected: string,
  got: string,
  path: PropertyKey[] = [],
  atKey = false,
): typeof z.NEVER {
  ctx.addIssue({
    code: 'custom',
    message: `expected ${expected}, got ${got}`,
    path: path as (string | number)[],
    params: atKey ? { atKey: true } : undefined,
    input: undefined,
  });
  return z.NEVER;
}

/** A leaf parsed by `parse`; `undefined` from `parse` means invalid. Optional (may be absent). */
function leaf<T>(expected: string, parse: (value: unknown) => T | undefined) {
  return z
    .unknown()
    .transform((value, ctx): T => {
      const parsed = value === undefined ? undefined : parse(value);
      if (parsed === undefined) return fail(ctx, expected, describeValue(value));
      return parsed;
    })
    .optional();
}

const nonEmptyString = () =>
  leaf('a non-empty string', (v) => (typeof v === 'string' && v.trim() !== '' ? v : undefined));

const bool = () => leaf('true or false', (v) => (typeof v === 'boolean' ? v : undefined));

const positiveInt = () =>
  leaf('a positive integer', (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined,
  );

function oneOf<const T extends string>(values: readonly T[]) {
  return leaf(`one of ${values.map((v) => `'${v}'`).join(', ')}`, (v) =>
    typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : undefined,
  );
}

/** Durations: ms or `'15s'` (see `src/util/duration.ts`); normalized to ms. */
function duration(options: { allowZero?: boolean; max?: number } = {}) {
  const { allowZero = false, max } = options;
  let expected = `a duration like '30s', '5m', '1h' or milliseconds`;
  if (allowZero) expected += ' (0 allowed)';
  if (max !== undefined) expected += ` up to ${max} ms (about 24.8 days)`;
  return leaf(expected, (v) => {
    if (typeof v !== 'number' && typeof v !== 'string') return undefined;
    try {
      const ms = parseDuration(v, 'duration', allowZero);
      return max !== undefined && ms > max ? undefined : ms;
    } catch {
      return undefined;
    }
  });
}

/** Sizes: bytes or `'64MiB'` (see `./size.ts`); normalized to bytes. */
const size = () =>
  leaf(`a size in bytes like 1048576, '64MiB', '10MB' or '512KiB'`, (v) => parseSize(v));

/** A minimum severity: a level name or 1–24; level names are normalized to lower case. */
const minSeverity = () =>
  leaf(LEVEL_EXPECTED, (v) => {
    if (typeof v === 'number') return parseLevel(v) === undefined ? undefined : v;
    if (typeof v === 'string')
      return parseLevel(v) === undefined ? undefined : v.trim().toLowerCase();
    return undefined;
  });

/**
 * `levels`: a level string (`'info,app.db=debug'`), a single level or severity number, or a
 * mapping `{ default: info, app.db: debug, app.*: warn }` (`default` or `'*'` sets the default).
 * Normalized to the canonical string form of `formatLevelSpec`.
 */
const levels = () =>
  z
    .unknown()
    .transform((v, ctx): string => {
      if (typeof v === 'number') v = String(v);
      if (typeof v === 'string') {
        const checked = checkLevelString(v);
        if ('levels' in checked) return checked.levels;
        return fail(ctx, checked.expected, checked.got);
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        return fail(
          ctx,
          `a level list like 'info,app.db=debug' or a mapping like { default: info, app.db: debug }`,
          describeValue(v),
        );
      }
      const entries: string[] = [];
      let bad = false;
      for (const [key, value] of Object.entries(v)) {
        const levelText = typeof value === 'number' ? String(value) : value;
        if (typeof levelText !== 'string' || parseLevel(levelText) === undefined) {
          fail(ctx, LEVEL_EXPECTED, describeValue(value), [key]);
          bad = true;
          continue;
        }
        if (key === 'default' || key === '*') {
          entries.unshift(levelText);
          continue;
        }
        try {
          parseLevelSpec(`${key}=${levelText}`);
        } catch {
          fail(ctx, PATTERN_EXPECTED, `the key ${JSON.stringify(key)}`, [key], true);
          bad = true;
          continue;
        }
        entries.push(`${key}=${levelText}`);
      }
      if (bad) return z.NEVER;
      return formatLevelSpec(parseLevelSpec(entries.join(',')));
    })
    .optional();

function isAttributeValue(v: unknown): v is AttributeValue {
  const primitive = (x: unknown) =>
    typeof x === 'string' ||
    typeof x === 'boolean' ||
    (typeof x === 'number' && Number.isFinite(x));
  if (primitive(v)) return true;
  if (!Array.isArray(v) || !v.every(primitive)) return false;
  return v.every((x) => typeof x === typeof v[0]);
}

/** `service.attributes`: resource attributes; values are strings, numbers, booleans or lists of one of them. */
const attributes = () =>
  z
    .unknown()
    .transform((v, ctx): Record<string, AttributeValue> => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        return fail(ctx, 'a mapping of attribute names to values', describeValue(v));
      }
      const out: Record<string, AttributeValue> = {};
      let bad = false;
      for (const [key, value] of Object.entries(v)) {
        if (!isAttributeValue(value)) {
          fail(ctx, 'a string, number, boolean or a list of one of them', describeValue(value), [
            key,
          ]);
          bad = true;
        } else out[key] = value;
      }
      return bad ? z.NEVER : out;
    })
    .optional();

/** HTTP header field names are tokens (RFC 9110 §5.1 / §5.6.2). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** `exporters.otlp.headers`: gRPC metadata; values are strings (numbers are turned into strings). */
const headers = () =>
  z
    .unknown()
    .transform((v, ctx): Record<string, string> => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        return fail(ctx, 'a mapping of header names to values', describeValue(v));
      }
      const out: Record<string, string> = {};
      let bad = false;
      for (const [key, value] of Object.entries(v)) {
        if (!HEADER_NAME.test(key)) {
          fail(
            ctx,
            `a header name (letters, digits, '-', '_', '.')`,
            JSON.stringify(key),
            [key],
            true,
          );
          bad = true;
        } else if (
          typeof value === 'string' ||
          (typeof value === 'number' && Number.isFinite(value))
        ) {
          out[key] = String(value);
        } else {
          fail(ctx, 'a string', describeValue(value), [key]);
          bad = true;
        }
      }
      return bad ? z.NEVER : out;
    })
    .optional();

const collectorEndpoint = () =>
  leaf(
    `a collector endpoint like 'http://collector:4317', 'https://collector:4317', 'unix:///path/to.sock' or 'host:port'`,
    (v) => (typeof v === 'string' && isCollectorEndpoint(v.trim()) ? v.trim() : undefined),
  );

const receiverEndpoint = () =>
  leaf(
    `'unix', 'unix:///absolute/path.sock', 'tcp' or a loopback 'host:port' like '127.0.0.1:0'`,
    (v) => (typeof v === 'string' && isReceiverEndpoint(v.trim()) ? v.trim() : undefined),
  );

/** `exporters.console.template`: only the placeholders `PrettyConsoleExporter` knows. */
const consoleTemplate = () =>
  z
    .unknown()
    .transform((v, ctx): string => {
      if (typeof v !== 'string' || v === '') {
        return fail(ctx, 'a non-empty template string', describeValue(v));
      }
      for (const m of v.matchAll(/\{([a-z_]+)\}/g)) {
        if (!(TEMPLATE_FIELDS as readonly string[]).includes(m[1]!)) {
          return fail(
            ctx,
            `placeholders among ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(' ')}`,
            m[0],
          );
        }
      }
      return v;
    })
    .optional();

const colors = () =>
  leaf(`'auto', true or false`, (v) => (typeof v === 'boolean' || v === 'auto' ? v : undefined));

/**
 * Sections that may also be written `true`/`false` (shorthand for `{ enabled: true|false }`),
 * by key path.
 */
export const SWITCHABLE = new Set<string>();

/** A section that also accepts `true`/`false` for `{ enabled: … }`. */
function switchable<T extends z.ZodType>(path: string, schema: T) {
  SWITCHABLE.add(path);
  return z.preprocess((v) => (typeof v === 'boolean' ? { enabled: v } : v), schema);
}

/** Known keys per section (key path → keys), for "unknown key" messages. */
export const KNOWN_KEYS = new Map<string, string[]>();

function section<S extends z.core.$ZodLooseShape>(path: string, shape: S) {
  KNOWN_KEYS.set(path, Object.keys(shape));
  return z.strictObject(shape);
}

const statusSection = section('status', {
  enabled: bool(),
  interval: duration({ max: MAX_TIMER_MS }),
  template: nonEmptyString(),
  destination: oneOf(['all', 'console', 'file'] as const),
});

const lookbackSection = section('lookback', {
  enabled: bool(),
  capacity: positiveInt(),
  maxAge: duration(),
  flushSeverity: minSeverity(),
  holdSeverity: minSeverity(),
  hold: levels(),
  holdUntraced: bool(),
  maxKeys: positiveInt(),
  maxBytes: size(),
  followFor: duration({ allowZero: true }),
  onShutdown: oneOf(['drop', 'flush'] as const),
});

const viewSection = section('view', {
  enabled: bool(),
  port: positiveInt(),
  maxSize: size(),
  maxAge: duration(),
  maxRate: positiveInt(),
});

const httpTasksSection = section('httpTasks', {
  enabled: bool(),
  entryRecord: bool(),
  counters: bool(),
});

const instrumentationsSection = section('instrumentations', {
  enabled: bool(),
  pino: bool(),
  winston: bool(),
  bunyan: bool(),
  keepOutput: bool(),
});

const otlpSection = section('exporters.otlp', {
  enabled: bool(),
  endpoint: collectorEndpoint(),
  headers: headers(),
  compression: oneOf(['gzip', 'none'] as const),
  insecure: bool(),
  minimumSeverity: minSeverity(),
  minSeverity: minSeverity(), // deprecated name of minimumSeverity
});

const fileSection = section('exporters.file', {
  enabled: bool(),
  path: nonEmptyString(),
  maxSize: size(),
  maxFiles: positiveInt(),
  minimumSeverity: minSeverity(),
  minSeverity: minSeverity(), // deprecated name of minimumSeverity
}).superRefine((file, ctx) => {
  if (file.maxFiles !== undefined && file.maxSize === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['maxFiles'],
      message: `expected exporters.file.maxSize to be set too (files rotate by size), got maxFiles without maxSize`,
      input: undefined,
    });
  }
});

const consoleSection = section('exporters.console', {
  enabled: bool(),
  template: consoleTemplate(),
  colors: colors(),
  minimumSeverity: minSeverity(),
  minSeverity: minSeverity(), // deprecated name of minimumSeverity
});

/**
 * The whole configuration file. Parsing yields a {@link StarlogConfig}: durations in ms, sizes in
 * bytes, `levels` in canonical string form, minimum severities as lower-case names or numbers.
 */
export const configSchema = section('', {
  service: section('service', {
    name: nonEmptyString(),
    attributes: attributes(),
  }).optional(),
  receiver: section('receiver', { endpoint: receiverEndpoint() }).optional(),
  levels: levels(),
  status: switchable('status', statusSection).optional(),
  lookback: switchable('lookback', lookbackSection).optional(),
  view: switchable('view', viewSection).optional(),
  httpTasks: switchable('httpTasks', httpTasksSection).optional(),
  instrumentations: switchable('instrumentations', instrumentationsSection).optional(),
  exporters: section('exporters', {
    otlp: switchable('exporters.otlp', otlpSection).optional(),
    file: switchable('exporters.file', fileSection).optional(),
    console: switchable('exporters.console', consoleSection).optional(),
  }).optional(),
  shutdownTimeout: duration({ max: MAX_TIMER_MS }),
});

/**
 * A validated, normalized configuration file (the output of {@link configSchema}), as the plain
 * interface of `./config-types.ts` so that no public .d.ts refers to zod. The line below fails to
 * compile when the schema and the interface disagree (a key or a type).
 */
export type { StarlogConfig };

type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const _schemaIsConfig: Same<z.output<typeof configSchema>, StarlogConfig> = true;
void _schemaIsConfig;

/**
 * The value of `STARLOG_HTTP_TASKS` / `STARLOG_INSTRUMENTATIONS` (`true`, `false`, or the JSON of
 * the configuration file's section, e.g. `{"entryRecord":true}`), validated as that section.
 * Returns the section, or `{ error }` with an `expected …, got …` message.
 */
export function parseDropInSection(
  key: 'httpTasks' | 'instrumentations',
  text: string,
): StarlogConfig['httpTasks'] | StarlogConfig['instrumentations'] | { error: string } {
  let value: unknown;
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === 'false') value = lower === 'true';
  else {
    try {
      value = JSON.parse(text);
    } catch {
      return { error: `expected true, false or a JSON object, got ${describeValue(text)}` };
    }
  }
  const schema = key === 'httpTasks' ? httpTasksSection : instrumentationsSection;
  const parsed = z
    .preprocess((v) => (typeof v === 'boolean' ? { enabled: v } : v), schema)
    .safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    return { error: `${at}${issue?.message ?? 'invalid'}` };
  }
  return parsed.data;
}
