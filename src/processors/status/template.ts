/**
 * Status-record templates: text with `{NAME}` placeholders, compiled once into segments.
 *
 * Syntax: `{NAME}` is replaced by the value named NAME; `{{` and `}}` are a literal `{` and `}`;
 * a `{` without a closing `}` is literal text. Names are case-sensitive and trimmed.
 * Aliases (resolved at compile time): `WARNING` → `WARN`, `CRITICAL` → `FATAL`,
 * `UNKNOWN` → `UNSPECIFIED`, also with the `-SIZE` suffix (`{WARNING-SIZE}` → `{WARN-SIZE}`).
 * A name without a value when rendering renders `0`.
 */

const ALIASES: Readonly<Record<string, string>> = {
  WARNING: 'WARN',
  CRITICAL: 'FATAL',
  UNKNOWN: 'UNSPECIFIED',
  'WARNING-SIZE': 'WARN-SIZE',
  'CRITICAL-SIZE': 'FATAL-SIZE',
  'UNKNOWN-SIZE': 'UNSPECIFIED-SIZE',
};

/** A compiled template; {@link StatusTemplate.render} does no parsing. */
export interface StatusTemplate {
  /** The template text it was compiled from. */
  readonly source: string;
  /** The (alias-resolved) names it references, in order of first appearance. */
  readonly names: readonly string[];
  /** Renders with `values`; a name missing from `values` renders `'0'`. */
  render(values: ReadonlyMap<string, number | string>): string;
}

/** Resolves a template alias (`WARNING` → `WARN`); other names are returned unchanged. */
export function resolveAlias(name: string): string {
  return ALIASES[name] ?? name;
}

/**
 * Compiles `source` into a {@link StatusTemplate}.
 * @throws TypeError when `source` is not a string
 */
export function compileStatusTemplate(source: string): StatusTemplate {
  if (typeof source !== 'string') {
    throw new TypeError(`starlog: StatusProcessor template must be a string; got ${typeof source}`);
  }
  // Even indexes: literal text; odd indexes: names. Always starts and ends with a literal.
  const parts: string[] = [];
  const names: string[] = [];
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '{' && source[i + 1] === '{') {
      literal += '{';
      i += 2;
    } else if (ch === '}' && source[i + 1] === '}') {
      literal += '}';
      i += 2;
    } else if (ch === '{') {
      const end = source.indexOf('}', i + 1);
      const inner = end === -1 ? '' : source.slice(i + 1, end);
      if (end === -1 || inner.includes('{') || inner.trim() === '') {
        literal += ch;
        i += 1;
      } else {
        const name = resolveAlias(inner.trim());
        parts.push(literal, name);
        if (!names.includes(name)) names.push(name);
        literal = '';
        i = end + 1;
      }
    } else {
      literal += ch;
      i += 1;
    }
  }
  parts.push(literal);
  const count = parts.length;
  return {
    source,
    names,
    render(values) {
      let out = parts[0]!;
      for (let k = 1; k < count; k += 2) {
        const value = values.get(parts[k]!);
        out += value === undefined ? '0' : String(value);
        out += parts[k + 1]!;
      }
      return out;
    },
  };
}
