/**
 * The configuration checks that need no schema library: level strings (`STARLOG_LEVEL`, `levels`)
 * and collector endpoints. The environment reader (`to-options.ts`) uses them without loading
 * zod; `schema.ts` builds its schema on them.
 *
 * @module
 */
import { formatLevelSpec, parseLevelSpec } from '../pipeline/level-table.ts';
import { parseLevel } from '../severity.ts';

const LEVEL_LIST = 'trace, debug, info, warn, error, fatal, off';
export const LEVEL_EXPECTED = `a level (${LEVEL_LIST}) or a severity number 1-24`;
export const PATTERN_EXPECTED = 'a logger name like app.db or a prefix like app.*';

/** Checks one `pattern=level` (or bare level) entry; returns what is wrong, or undefined. */
function checkLevelEntry(entry: string): { expected: string; got: string } | undefined {
  const eq = entry.indexOf('=');
  const levelText = eq === -1 ? entry : entry.slice(eq + 1).trim();
  if (parseLevel(levelText) === undefined) {
    return {
      expected: LEVEL_EXPECTED,
      got: `${JSON.stringify(levelText)} in ${JSON.stringify(entry)}`,
    };
  }
  try {
    parseLevelSpec(entry);
  } catch {
    const pattern = entry.slice(0, eq).trim();
    return {
      expected: PATTERN_EXPECTED,
      got: `${JSON.stringify(pattern)} in ${JSON.stringify(entry)}`,
    };
  }
  return undefined;
}

/**
 * Validates a level string such as `'info,app.db=debug'` (the `STARLOG_LEVEL` form) and returns
 * its canonical form, or what is wrong with the first bad entry.
 */
export function checkLevelString(
  spec: string,
): { levels: string } | { expected: string; got: string } {
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const problem = checkLevelEntry(entry);
    if (problem) return problem;
  }
  return { levels: formatLevelSpec(parseLevelSpec(spec)) };
}

/** `unix:/abs/path` or `unix:///abs/path` (gRPC naming: the path after `unix://` must be absolute). */
function isUnixTarget(target: string): boolean {
  const path = target.startsWith('unix://') ? target.slice(7) : target.slice(5);
  return path.length > 1 && path.startsWith('/') && !path.includes('\0');
}

/**
 * Whether `endpoint` is a gRPC target the OpenTelemetry OTLP/gRPC exporter accepts:
 * `http://host:port`, `https://host:port`, `unix:///abs/path` (or `unix:/abs/path`), or a bare
 * `host:port`.
 */
export function isCollectorEndpoint(endpoint: string): boolean {
  if (endpoint.startsWith('unix:')) return isUnixTarget(endpoint);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
    try {
      const url = new URL(endpoint);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }
  return /^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/i.test(endpoint);
}
