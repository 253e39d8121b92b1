/**
 * `starlog view FILES...`: index OTLP/JSON lines files into a temporary SQLite database and serve
 * the view page over them.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { startViewServer, type ViewServer } from './server.ts';
import { type LoadResult, loadFiles } from './store/load-files.ts';
import { ViewQueries } from './store/queries.ts';
import { ViewStore } from './store/store.ts';

/** Options of {@link viewFiles}. */
export interface ViewFilesOptions {
  /** TCP port on 127.0.0.1; default 0 (any free port) */
  port?: number;
  /** database file; default a fresh temporary directory, removed by `close()` */
  db?: string;
  /** characters kept per body; default 2000 */
  maxBody?: number;
}

/** A running view of files. */
export interface FilesView {
  server: ViewServer;
  store: ViewStore;
  loaded: LoadResult;
  close(): Promise<void>;
}

/**
 * Indexes `paths` and starts the server.
 *
 * @throws (rejects) when the database cannot be created or the port bound; unreadable files are
 *   reported in `loaded.files[i].error` instead
 */
export async function viewFiles(
  paths: string[],
  options: ViewFilesOptions = {},
): Promise<FilesView> {
  const dir = options.db === undefined ? mkdtempSync(join(tmpdir(), 'starlog-view-')) : undefined;
  const store = new ViewStore({ path: options.db ?? join(dir!, 'view.sqlite') });
  const loaded = await loadFiles(store, paths, options.maxBody);
  const server = await startViewServer({
    queries: new ViewQueries(store.db),
    stats: () => store.stats(),
    mode: 'files',
    title: paths.map((p) => basename(p)).join(', '),
    port: options.port,
  });
  return {
    server,
    store,
    loaded,
    async close() {
      await server.close();
      store.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
