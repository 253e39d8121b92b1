/**
 * The HTTP server of `starlog view`: one page and a JSON API, on 127.0.0.1 only.
 *
 * Access (like Jupyter's): the server makes a fresh random token (32 bytes, hex) and prints a URL
 * carrying it (`/?token=…`). The first request with the token gets a cookie (HttpOnly,
 * SameSite=Strict, per port) and is redirected to the same URL without it; later requests carry
 * the cookie. Without a token or cookie nothing is served (401), with a wrong one neither (403).
 * A Host header other than `127.0.0.1:PORT` / `localhost:PORT` is refused (403; DNS rebinding),
 * and so is a POST without a JSON content type or from another Origin.
 *
 * Every response carries a strict Content-Security-Policy (scripts, styles and requests only from
 * this origin; no inline script; no frames), `nosniff`, no referrer and `no-store`. The page's
 * script and styles are the bundles built into `dist/view/` by `npm run build` (esbuild); nothing
 * is loaded from another host.
 *
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LevelChange, LevelState } from '../multiprocess/protocol/level-control.ts';
import type { ViewQueries } from './store/queries.ts';
import type { SearchFilters } from './store/search.ts';
import type { StoreStats } from './store/store.ts';

/** How the page reads and changes the level table (absent: levels are not shown). */
export interface ViewLevels {
  get(): Promise<LevelState>;
  /** @throws Error with the same message `starlog level set` prints for an invalid change */
  set(change: LevelChange): Promise<LevelState>;
}

/** Options of {@link startViewServer}. */
export interface ViewServerOptions {
  queries: ViewQueries;
  /** counters of the store (records, evicted, bytes) */
  stats: () => StoreStats;
  /** `live` (a running primary) or `files` */
  mode: 'live' | 'files';
  /** shown in the page title, e.g. the file names or the service name */
  title?: string;
  levels?: ViewLevels;
  /** TCP port on 127.0.0.1; default 0 (any free port) */
  port?: number;
  /** directory of `page.js` and `page.css`; default `dist/view/` of this package */
  assetsDir?: string;
}

/** A running view server. */
export interface ViewServer {
  /** the URL to open, with the token: `http://127.0.0.1:PORT/?token=…` */
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>starlog view</title><link rel="stylesheet" href="/assets/page.css"></head>
<body><div id="app"></div><script type="module" src="/assets/page.js"></script></body></html>
`;

const MAX_BODY = 64 * 1024;

function defaultAssetsDir(): string {
  // src/view/server.ts is two levels below the package root; built, every module of dist/ is in
  // dist/ itself (scripts/build-dist.ts)
  const own = import.meta.url;
  return new URL(own.endsWith('.ts') ? '../../dist/view/' : './view/', own).pathname;
}

function num(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function filters(p: URLSearchParams): SearchFilters {
  return {
    q: p.get('q') ?? undefined,
    sev: num(p.get('sev')),
    proc: num(p.get('proc')),
    logger: p.get('logger') || undefined,
    from: num(p.get('from')),
    to: num(p.get('to')),
  };
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Starts the server on 127.0.0.1.
 *
 * @throws (rejects) when the port cannot be bound
 */
export async function startViewServer(options: ViewServerOptions): Promise<ViewServer> {
  const token = randomBytes(32).toString('hex');
  const assetsDir = options.assetsDir ?? defaultAssetsDir();
  const assets = new Map<string, Promise<Buffer | undefined>>();
  const asset = (name: string) => {
    let a = assets.get(name);
    if (a === undefined) {
      a = readFile(`${assetsDir}/${name}`).catch(() => undefined);
      assets.set(name, a);
    }
    return a;
  };
  let port = 0;
  const cookieName = () => `starlog_view_${port}`;

  const send = (
    res: ServerResponse,
    status: number,
    body: string | Buffer,
    type = 'text/plain; charset=utf-8',
    extra: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
      ...extra,
    });
    res.end(body);
  };
  const json = (res: ServerResponse, value: unknown, status = 200) =>
    send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return send(res, 403, 'starlog view: unexpected Host header\n');
    }
    const url = new URL(req.url ?? '/', `http://${host}`);
    const given = url.searchParams.get('token');
    if (given !== null) {
      if (!sameToken(given, token)) return send(res, 403, 'starlog view: wrong token\n');
      url.searchParams.delete('token');
      return send(res, 303, '', 'text/plain', {
        Location: `${url.pathname}${url.search}`,
        'Set-Cookie': `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`,
      });
    }
    const cookie = readCookie(req, cookieName());
    if (cookie === undefined) return send(res, 401, 'starlog view: token required\n');
    if (!sameToken(cookie, token)) return send(res, 403, 'starlog view: wrong token\n');

    const path = url.pathname;
    const p = url.searchParams;
    if (req.method === 'POST') {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${host}`) {
        return send(res, 403, 'starlog view: cross-origin request refused\n');
      }
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return send(res, 415, 'starlog view: expected application/json\n');
      }
      if (path !== '/api/levels') return send(res, 404, 'not found\n');
      if (options.levels === undefined) {
        return json(res, { error: 'levels can only be changed in a live view' }, 409);
      }
      let change: LevelChange;
      try {
        const body = JSON.parse(await readBody(req)) as Partial<LevelChange>;
        change = {
          spec: typeof body.spec === 'string' ? body.spec : '',
          replace: body.replace === true,
          unset: Array.isArray(body.unset) ? body.unset.map(String) : [],
        };
      } catch {
        return json(res, { error: 'the request body is not JSON' }, 400);
      }
      if (change.spec.trim() === '' && (change.unset ?? []).length === 0) {
        return json(res, { error: 'nothing to set: give entries like app.db=debug' }, 400);
      }
      try {
        return json(res, await options.levels.set(change));
      } catch (err) {
        return json(res, { error: (err as Error).message.replace(/\s*\n\s*/g, ' ') }, 400);
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'method not allowed\n');

    const q = options.queries;
    switch (path) {
      case '/':
        return send(res, 200, PAGE, 'text/html; charset=utf-8');
      case '/assets/page.js':
      case '/assets/page.css': {
        const name = path.slice('/assets/'.length);
        const body = await asset(name);
        if (body === undefined)
          return send(res, 500, `starlog view: ${name} missing: run npm run build\n`);
        const type = name.endsWith('.js') ? 'text/javascript' : 'text/css';
        return send(res, 200, body, `${type}; charset=utf-8`);
      }
      case '/api/summary':
        return json(res, {
          mode: options.mode,
          title: options.title ?? '',
          levels: options.levels !== undefined,
          store: options.stats(),
          ...q.traceCounts(),
          lastId: q.lastId(),
        });
      case '/api/status':
        return json(res, q.status({ from: num(p.get('from')), to: num(p.get('to')) }));
      case '/api/processes':
        return json(res, q.processes());
      case '/api/traces':
        return json(
          res,
          q.traces({ ...filters(p), offset: num(p.get('offset')), limit: num(p.get('limit')) }),
        );
      case '/api/search':
        return json(
          res,
          q.search({ ...filters(p), before: num(p.get('before')), limit: num(p.get('limit')) }),
        );
      case '/api/tail':
        return json(
          res,
          q.tail({ ...filters(p), after: num(p.get('after')), limit: num(p.get('limit')) }),
        );
      case '/api/trace': {
        const id = p.get('id') ?? '';
        if (!/^[0-9a-fA-F]{32}$/.test(id)) return json(res, { error: 'bad trace id' }, 400);
        return json(res, q.trace(id));
      }
      case '/api/levels':
        if (options.levels === undefined) return json(res, { error: 'not a live view' }, 409);
        try {
          return json(res, await options.levels.get());
        } catch (err) {
          return json(res, { error: (err as Error).message }, 502);
        }
      default:
        return send(res, 404, 'not found\n');
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `starlog view: ${(err as Error).message}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    token,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
