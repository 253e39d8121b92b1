import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { StarlogConfig } from './config-types.ts';
import type { Env } from './environment.ts';
import { ConfigError, type ConfigIssue, describeValue, formatPath } from './errors.ts';
import { displayName, findConfigFile, type LoadConfigOptions, type LoadedConfig } from './find.ts';
import { configSchema, KNOWN_KEYS, SWITCHABLE } from './schema.ts';
import { toSetupOptions } from './to-options.ts';

// the environment reader and the options builder, re-exported where they were
export { type Env, parseKeyValueList } from './environment.ts';
// the lookup (no YAML or schema library), re-exported where it was
export {
  CONFIG_FILE_NAMES,
  findConfigFile,
  type LoadConfigOptions,
  type LoadedConfig,
} from './find.ts';
export { type ToSetupOptionsOptions, toSetupOptions } from './to-options.ts';

/**
 * Finds, reads and validates the configuration file and applies the environment overrides
 * (see {@link toSetupOptions}).
 * @returns `undefined` when there is no configuration file (then use `toSetupOptions(undefined, env)`)
 * @throws ConfigError listing every problem (file, key path, what was expected, what was found)
 */
export async function loadConfig(
  options: LoadConfigOptions = {},
): Promise<LoadedConfig | undefined> {
  const file = findConfigFile(options);
  if (file === undefined) return undefined;
  const cwd = resolve(options.cwd ?? process.cwd());
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw readError(file, cwd, err);
  }
  return finishLoad(file, text, cwd, options.env ?? process.env);
}

/** The synchronous {@link loadConfig}. */
export function loadConfigSync(options: LoadConfigOptions = {}): LoadedConfig | undefined {
  const file = findConfigFile(options);
  if (file === undefined) return undefined;
  const cwd = resolve(options.cwd ?? process.cwd());
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw readError(file, cwd, err);
  }
  return finishLoad(file, text, cwd, options.env ?? process.env);
}

function readError(file: string, cwd: string, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new ConfigError(displayName(file, cwd), [
    { path: '', message: `expected a readable configuration file, got ${code}` },
  ]);
}

function finishLoad(file: string, text: string, cwd: string, env: Env): LoadedConfig {
  const name = displayName(file, cwd);
  const format = extname(file).toLowerCase() === '.json' ? 'json' : 'yaml';
  const { raw, config } = parseConfig(text, name, format);
  const warnings: string[] = [];
  const options = toSetupOptions(config, env, {
    file: name,
    baseDir: resolve(file, '..'),
    warnings,
  });
  return { file, raw, config, options, warnings };
}

/**
 * Parses and validates the text of a configuration file.
 * @param text - the file's content
 * @param file - the name used in error messages
 * @param format - `'yaml'` (YAML 1.2 through the `yaml` package; JSON is valid YAML too) or
 *   `'json'` (`JSON.parse`)
 * @returns the parsed content and the validated, normalized configuration (an empty file or an
 *   empty YAML document is an empty configuration)
 * @throws ConfigError for syntax errors (with line and column) and schema errors (with key paths)
 */
export function parseConfig(
  text: string,
  file: string,
  format: 'yaml' | 'json' = 'yaml',
): { raw: unknown; config: StarlogConfig } {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let raw: unknown;
  let locate: Locator | undefined;
  if (format === 'json') {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(file, [jsonIssue(text, (err as Error).message)]);
    }
  } else {
    const lineCounter = new LineCounter();
    // the yaml package's own duplicate-key check compares each key with every earlier one
    // (quadratic); duplicateKeys() does the same check in one pass
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
    const errors = [...doc.errors.map((e) => ({ offset: e.pos[0], message: e.message }))];
    if (errors.length === 0) errors.push(...duplicateKeys(doc.contents));
    if (errors.length > 0) {
      throw new ConfigError(
        file,
        errors.map((e) => {
          const pos = lineCounter.linePos(e.offset);
          return {
            path: '',
            message: `YAML syntax error: ${e.message}`,
            line: pos.line,
            column: pos.col,
          };
        }),
      );
    }
    try {
      raw = doc.toJS();
    } catch (err) {
      throw new ConfigError(file, [{ path: '', message: `YAML error: ${(err as Error).message}` }]);
    }
    locate = (path, atKey) => {
      const offset = nodeOffset(doc.contents, path, atKey);
      if (offset === undefined) return undefined;
      const pos = lineCounter.linePos(offset);
      return { line: pos.line, column: pos.col };
    };
  }
  if (raw === null || raw === undefined) raw = {};
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(file, toIssues(result.error.issues, raw, locate));
  return { raw, config: result.data };
}

type Locator = (
  path: PropertyKey[],
  atKey: boolean,
) => { line: number; column: number } | undefined;

/** `Map keys must be unique` at each repeated scalar key of every mapping, in one pass. */
function duplicateKeys(root: unknown): { offset: number; message: string }[] {
  const out: { offset: number; message: string }[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          if (seen.has(pair.key.value)) {
            out.push({ offset: pair.key.range?.[0] ?? 0, message: 'Map keys must be unique' });
          }
          seen.add(pair.key.value);
        }
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return out.sort((a, b) => a.offset - b.offset);
}

type YamlPair = { key: unknown; value: unknown };
/** Each YAML mapping's pairs by key, built once: locating N issues stays linear in the file. */
const pairIndex = new WeakMap<object, Map<unknown, YamlPair>>();

function pairOf(map: { items: YamlPair[] }, key: PropertyKey): YamlPair | undefined {
  let index = pairIndex.get(map);
  if (index === undefined) {
    index = new Map();
    for (const p of map.items) {
      const k = isScalar(p.key) ? p.key.value : p.key;
      if (!index.has(k)) index.set(k, p);
    }
    pairIndex.set(map, index);
  }
  return index.get(key);
}

/** Offset of the YAML node at `path` (of its key when `atKey`). */
function nodeOffset(node: unknown, path: PropertyKey[], atKey: boolean): number | undefined {
  for (let i = 0; i < path.length; i++) {
    if (!isMap(node)) return undefined;
    const pair = pairOf(node as unknown as { items: YamlPair[] }, path[i]!);
    if (!pair) return undefined;
    if (i === path.length - 1 && atKey) {
      return isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    }
    node = pair.value;
  }
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}

function jsonIssue(text: string, message: string): ConfigIssue {
  const detail = message
    .replace(/\s*in JSON at position \d+.*$/s, '')
    .replace(/^JSON\.parse: /, '');
  const at = /line (\d+) column (\d+)/.exec(message);
  if (at) {
    return {
      path: '',
      message: `invalid JSON: ${detail}`,
      line: Number(at[1]),
      column: Number(at[2]),
    };
  }
  const pos = /position (\d+)/.exec(message);
  if (pos) {
    const before = text.slice(0, Number(pos[1]));
    const line = before.split('\n').length;
    const column = Number(pos[1]) - before.lastIndexOf('\n');
    return { path: '', message: `invalid JSON: ${detail}`, line, column };
  }
  return { path: '', message: `invalid JSON: ${detail}` };
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function suggest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    if (Math.abs(k.length - key.length) >= bestDistance) continue; // the distance is at least that
    const d = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function toIssues(
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  locate: Locator | undefined,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const push = (path: PropertyKey[], message: string, atKey: boolean) => {
    const issue: ConfigIssue = { path: formatPath(path), message };
    const pos = locate?.(path, atKey);
    if (pos) {
      issue.line = pos.line;
      issue.column = pos.column;
    }
    out.push(issue);
  };
  for (const issue of issues) {
    const path = issue.path as PropertyKey[];
    if (issue.code === 'unrecognized_keys') {
      const known = KNOWN_KEYS.get(path.join('.')) ?? [];
      for (const key of issue.keys) {
        const hint = suggest(key, known);
        push(
          [...path, key],
          `unknown key${hint ? ` (did you mean ${hint}?)` : ''}; expected one of ${known.join(', ')}`,
          true,
        );
      }
    } else if (issue.code === 'invalid_type' && issue.expected === 'object') {
      const where = path.length === 0 ? ' at the top level' : '';
      const or = SWITCHABLE.has(path.join('.')) ? ' or true/false' : '';
      push(
        path,
        `expected a mapping (key: value pairs)${or}${where}, got ${describeValue(valueAt(raw, path))}`,
        false,
      );
    } else {
      const atKey = issue.code === 'custom' && issue.params?.atKey === true;
      push(path, issue.message, atKey);
    }
  }
  if (out.every((i) => i.line !== undefined)) {
    out.sort((a, b) => a.line! - b.line! || (a.column ?? 0) - (b.column ?? 0));
  }
  return out;
}
