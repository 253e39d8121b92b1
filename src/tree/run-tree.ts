/**
 * Runs a task-tree report (what `starlog tree FILE...` prints): task trees from OTLP/JSON lines (starlog's JsonlFileExporter files, the
 * OpenTelemetry Collector's file exporter output). The reader, model and renderers are the other files of this folder.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { TreeModel } from './model.ts';
import { readOtlpJsonLines } from './read.ts';
import { renderHtml } from './render-html.ts';
import { renderText } from './render-text.ts';

/** Options of `starlog tree` (commander's camelCase names). */
export interface TreeCommandOptions {
  /** only branches that lead to a failure */
  failed?: boolean;
  /** a trace id (hex), or a prefix of one */
  trace?: string;
  /** write a self-contained HTML page to this path instead of text to stdout */
  html?: string;
  /** also show records that belong to no trace and no task, grouped per process */
  all?: boolean;
  /** body/exception characters kept per record; default 200 */
  maxBody?: number;
  /** print stack traces of exceptions (text output) */
  stack?: boolean;
  /** print each record's attributes (text and HTML) */
  attrs?: boolean;
  /** force colours on/off; default: on when stdout is a TTY and NO_COLOR is unset */
  color?: boolean;
}

export interface TreeIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** Bad lines reported per file before the rest are only counted. */
const BAD_LINE_REPORTS = 20;

/**
 * Runs `starlog tree`. Never throws for bad input: problems go to stderr.
 * @returns the exit code: 0, or 1 when a file cannot be read, nothing in the files could be
 *   read (only bad lines), an option is invalid, `--trace` matches nothing or the output cannot
 *   be written
 */
export async function runTree(
  files: string[],
  options: TreeCommandOptions,
  io: TreeIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const err = (msg: string) => io.stderr.write(`starlog tree: ${msg}\n`);
  let tracePrefix: string | undefined;
  if (options.trace !== undefined) {
    if (!/^[0-9a-fA-F]{1,32}$/.test(options.trace)) {
      err(
        `--trace must be a hex trace id or a prefix of one, got ${JSON.stringify(options.trace)}`,
      );
      return 1;
    }
    tracePrefix = options.trace.toLowerCase();
  }
  for (const file of files) {
    try {
      const s = await stat(file);
      if (!s.isFile() && !s.isFIFO()) throw new Error('not a regular file');
    } catch (e) {
      err(`cannot read ${file}: ${(e as Error).message}`);
      return 1;
    }
  }

  const model = new TreeModel({ tracePrefix, keepUntasked: options.all ?? false });
  let records = 0;
  let badTotal = 0;
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    let bad = 0;
    try {
      const stats = await readOtlpJsonLines(file, i, model, {
        maxBody: options.maxBody,
        attributes: options.attrs === true,
        onBadLine: (line, reason) => {
          if (++bad <= BAD_LINE_REPORTS) err(`${file}:${line}: skipped: ${reason}`);
        },
      });
      records += stats.records;
      badTotal += bad;
      if (bad > BAD_LINE_REPORTS) err(`${file}: ${bad - BAD_LINE_REPORTS} more bad lines skipped`);
    } catch (e) {
      err(`cannot read ${file}: ${(e as Error).message}`);
      return 1;
    }
  }
  model.finish();

  if (tracePrefix !== undefined && model.traces.size === 0) {
    err(`no trace id starts with ${tracePrefix} (${records} records read)`);
    return 1;
  }
  if (records === 0) {
    err('no log records found');
    if (badTotal > 0) return 1; // nothing could be read
  }
  if (options.failed) {
    let clean = 0;
    for (const t of model.traces.values()) if (!t.leadsToFailure) clean++;
    if (clean > 0) err(`${clean} trace${clean === 1 ? '' : 's'} without failure hidden (--failed)`);
  }
  if (!options.all && model.untaskedCount > 0) {
    const n = model.untaskedCount;
    err(`${n} record${n === 1 ? '' : 's'} outside any task not shown (use --all)`);
  }

  if (options.html !== undefined) {
    const out = createWriteStream(options.html);
    const title = `starlog tree: ${files.join(', ')}`;
    const ok = await writeAll(
      out,
      renderHtml(model, { failedOnly: options.failed, title, attrs: options.attrs }),
      true,
    );
    if (!ok.ok) {
      err(`cannot write ${options.html}: ${ok.error?.message}`);
      return 1;
    }
    return 0;
  }
  const colors = options.color ?? (!io.env.NO_COLOR && (!!io.env.FORCE_COLOR || !!io.stdout.isTTY));
  const text = renderText(model, {
    failedOnly: options.failed,
    colors,
    stack: options.stack,
    attrs: options.attrs,
  });
  const ok = await writeAll(io.stdout, text, false);
  // A closed pipe (`starlog tree big.jsonl | head`) is not an error.
  if (!ok.ok && (ok.error as NodeJS.ErrnoException | undefined)?.code !== 'EPIPE') {
    err(`cannot write output: ${ok.error?.message}`);
    return 1;
  }
  return 0;
}

/** Writes chunks in ~64 KiB pieces, honouring backpressure; stops at the first stream error. */
async function writeAll(
  stream: Writable,
  chunks: Iterable<string>,
  end: boolean,
): Promise<{ ok: boolean; error?: Error }> {
  let error: Error | undefined;
  const onError = (e: Error) => {
    error ??= e;
  };
  stream.on('error', onError);
  const wait = (event: 'drain' | 'finish') =>
    new Promise<void>((resolve) => {
      const done = () => {
        stream.off(event, done);
        stream.off('error', done);
        stream.off('close', done);
        resolve();
      };
      stream.once(event, done);
      stream.once('error', done);
      stream.once('close', done);
    });
  try {
    let buf = '';
    for (const chunk of chunks) {
      if (error) break;
      buf += chunk;
      if (buf.length >= 65536) {
        const more = stream.write(buf);
        buf = '';
        if (!more && !error) await wait('drain');
      }
    }
    if (!error && buf !== '') stream.write(buf);
    if (end && !error) {
      const finished = wait('finish');
      stream.end();
      await finished;
    } else if (!error && stream.writableNeedDrain) await wait('drain');
  } finally {
    stream.off('error', onError);
    if (error) stream.on('error', () => {}); // late EPIPE after we stopped
  }
  return error ? { ok: false, error } : { ok: true };
}
