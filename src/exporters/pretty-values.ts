/**
 * How the pretty console renders bodies and attribute values: compact, JSON-like, escaped so
 * that one record is always one line.
 *
 * @module
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { COUNT_PREFIX } from '../processors/status/counters.ts';
import { escapeControl, quoteString } from '../util/escape.ts';

/** Colours a piece of text (or returns it as is). */
export type Painter = (s: string) => string;

/** Compact JSON-like rendering of any AnyValue for a terminal line (strings quoted and escaped). */
export function renderValue(v: unknown, stack: object[] = []): string {
  switch (typeof v) {
    case 'string':
      return quoteString(v);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'undefined':
      return 'undefined';
    case 'object':
      break;
    default:
      return escapeControl(String(v));
  }
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return renderBytes(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (stack.includes(v)) return '[Circular]';
  if (stack.length >= 32) return '[MaxDepth]';
  stack.push(v);
  let out: string;
  if (Array.isArray(v)) {
    out = '[';
    for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ',') + renderValue(v[i], stack);
    out += ']';
  } else {
    out = '{';
    let first = true;
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      const item = (v as Record<string, unknown>)[k];
      if (item === undefined) continue;
      out += `${first ? '' : ','}${quoteString(k)}:${renderValue(item, stack)}`;
      first = false;
    }
    out += '}';
  }
  stack.pop();
  return out;
}

const MAX_BYTES_SHOWN = 32;

function renderBytes(v: ArrayBufferView): string {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const shown = Buffer.from(bytes.subarray(0, MAX_BYTES_SHOWN)).toString('hex');
  return `<${bytes.length} bytes ${shown}${bytes.length > MAX_BYTES_SHOWN ? '…' : ''}>`;
}

/** The body as one safe line: strings escaped (not quoted), other values via {@link renderValue}. */
export function renderBody(body: unknown): string {
  if (typeof body === 'string') return escapeControl(body);
  if (body === undefined || body === null) return '';
  return renderValue(body);
}

/** Attribute value: plain when unambiguous, quoted (logfmt style) when it has spaces, `=`, quotes, braces or is empty. */
function renderAttrValue(v: AttributeValue | unknown): string {
  if (typeof v === 'string') {
    return v === '' || /[\s="{}\\]/.test(v) ? quoteString(v) : escapeControl(v);
  }
  return renderValue(v);
}

export function renderAttributes(
  attrs: Attributes,
  stripCountPrefix: boolean,
  key: Painter,
): string {
  let out = '';
  for (const k in attrs) {
    if (!Object.hasOwn(attrs, k)) continue;
    const v = attrs[k];
    if (v === undefined) continue;
    let name = k;
    if (stripCountPrefix && name.startsWith(COUNT_PREFIX)) name = name.slice(COUNT_PREFIX.length);
    name = /[\s="{}\\]/.test(name) || name === '' ? quoteString(name) : escapeControl(name);
    out += `${out === '' ? '' : ' '}${key(`${name}=`)}${renderAttrValue(v)}`;
  }
  return out === '' ? '' : `{${out}}`;
}
