/** The JSON API of the view server (same origin; the cookie carries the token). */

export interface Rec {
  id: number;
  t: number;
  sev: number;
  proc: number;
  logger: string | null;
  body: string;
  trace: string | null;
  span: string | null;
  task: string | null;
  tname: string | null;
  outcome: string | null;
  dur: number | null;
  exc: string | null;
  stack: string | null;
  attrs: string | null;
}

export interface Proc {
  id: number;
  pid: string | null;
  service: string | null;
  host: string | null;
  records: number;
  errors: number;
  drops: number;
  last: number | null;
}

export interface TraceRow {
  trace: string;
  first: number;
  last: number;
  n: number;
  errors: number;
  root: string | null;
  outcome: string | null;
  dur: number;
  err: string | null;
  failed: number;
  procs: number[];
}

export interface Summary {
  mode: 'live' | 'files';
  title: string;
  levels: boolean;
  store: { added: number; evicted: number; records: number; bytes: number; dropped?: number };
  traces: number;
  failed: number;
  lastId: number;
}

export interface StatusData {
  source: 'status' | 'derived';
  times: number[];
  series: { name: string; values: number[] }[];
}

export interface LevelState {
  spec: string;
  version: number;
}

/** GET a JSON API path with query parameters (empty values left out). */
export async function get<T>(path: string, params: Record<string, unknown> = {}): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  const res = await fetch(`${path}${qs.size > 0 ? `?${qs}` : ''}`, { credentials: 'same-origin' });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

/** POST JSON. */
export async function post<T>(path: string, value: unknown): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(value),
  });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}
