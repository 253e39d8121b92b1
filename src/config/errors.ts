/** One problem found in a configuration file or in the environment. */
export interface ConfigIssue {
  /**
   * Where in the configuration, as a key path: `lookback.maxAge`, `service.attributes["k8s.pod"]`;
   * the name of the variable for an environment problem (`STARLOG_LEVEL`); `''` for the whole
   * file (syntax errors, a top level that is not a mapping).
   */
  path: string;
  /** What was expected and what was found, e.g. `expected a positive integer, got 0`. */
  message: string;
  /** 1-based line in the file, when known (YAML files). */
  line?: number;
  /** 1-based column in the file, when known (YAML files). */
  column?: number;
}

/** The `file` of a {@link ConfigError} raised by an environment variable rather than a file. */
export const ENVIRONMENT = 'environment';

/**
 * A configuration file (or environment variable) that cannot be used. The message lists every
 * issue, one per line, in one format: `FILE[:LINE:COLUMN]: KEY.PATH: expected …, got …`, e.g.
 *
 * ```text
 * starlog.config.yaml:12:11: lookback.maxAge: expected a duration like '30s', '5m', '1h' or milliseconds, got "5x"
 * ```
 *
 * `FILE` is the path as shown to the user (relative to the working directory when inside it);
 * `LINE:COLUMN` is present for YAML files.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The file as shown in the message, or {@link ENVIRONMENT} for an environment variable. */
  readonly file: string;
  /** Every issue found (at least one). */
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => formatIssue(file, issue)).join('\n'));
    this.file = file;
    this.issues = issues;
  }
}

/** Formats one issue as `FILE[:LINE:COLUMN]: PATH: MESSAGE` (no `PATH: ` when the path is empty). */
export function formatIssue(file: string, issue: ConfigIssue): string {
  const where =
    issue.line === undefined
      ? file
      : `${file}:${issue.line}${issue.column === undefined ? '' : `:${issue.column}`}`;
  return issue.path === ''
    ? `${where}: ${issue.message}`
    : `${where}: ${issue.path}: ${issue.message}`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/**
 * A key path for messages: identifier-like keys joined with dots, other keys (with dots, spaces,
 * or numbers as list indexes) in brackets: `service.attributes["deployment.environment"]`, `x[0]`.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

const MAX_SHOWN = 60;

/**
 * How a found value is shown after `got`: strings quoted (cut at 60 characters), numbers, booleans
 * and null as written, `a list`, `a mapping`, `nothing` for a missing value.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string') {
    const cut = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
    return JSON.stringify(cut);
  }
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
