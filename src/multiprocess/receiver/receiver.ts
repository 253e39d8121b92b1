/**
 * The primary's OTLP/gRPC logs receiver: children (or any OpenTelemetry SDK process) export
 * `ExportLogsServiceRequest`s to it; every record is handed to the primary's processor as an
 * `IngestedLogRecord`. This module checks the options and puts the pieces together:
 * {@link Listening} (where), {@link LogsService} (Export), {@link LevelService} (level control),
 * {@link ChildStatsTable} (per-child counters), {@link TokenCheck}.
 *
 * @module
 */

import { resolve } from 'node:path';
import { type Metadata, Server } from '@grpc/grpc-js';
import { diag } from '@opentelemetry/api';
import { BindOnceFuture, callWithTimeout } from '@opentelemetry/core';
import { OtlpLogsDecoder } from '../../otlp/logs-decoder.ts';
import { parseReceiverEndpoint } from '../protocol/endpoint.ts';
import { HANDOFF_DIR_ENV } from '../protocol/handoff.ts';
import { LEVEL_CONTROL_SERVICE } from '../protocol/level-control.ts';
import { generateToken, TOKEN_METADATA_KEY } from '../protocol/token.ts';
import { ChildStatsTable } from './child-stats.ts';
import { HandoffIntake } from './handoff-intake.ts';
import { LevelService } from './level-service.ts';
import { Listening } from './listen.ts';
import { LOGS_SERVICE, LogsService } from './logs-service.ts';
import {
  DEFAULT_MAX_HANDOFF_FILE_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  type Receiver,
  type ReceiverEnv,
  type ReceiverOptions,
  type ReceiverStats,
} from './receiver-types.ts';
import { TokenCheck } from './token-check.ts';

export { OTLP_LOGS_EXPORT_PATH } from '../../otlp/grpc-methods.ts';
export {
  DEFAULT_MAX_HANDOFF_FILE_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  type ExtraService,
  type Receiver,
  type ReceiverChildStats,
  type ReceiverEnv,
  type ReceiverLevelStats,
  type ReceiverOptions,
  type ReceiverStats,
} from './receiver-types.ts';

/**
 * Starts the OTLP/gRPC logs receiver of the primary.
 *
 * Every `Export` call must carry the token as metadata `x-starlog-token` (compared in constant
 * time), else it gets `UNAUTHENTICATED` and nothing is ingested. The body is decoded by
 * {@link OtlpLogsDecoder} (all or nothing): malformed → `INVALID_ARGUMENT` with the reason;
 * over a limit → `RESOURCE_EXHAUSTED`. Each record then goes to `processor.onEmit(record,
 * ROOT_CONTEXT)` inside a try/catch (a throwing processor is counted and reported through `diag`);
 * the answer is an empty `ExportLogsServiceResponse`.
 *
 * @throws TypeError for a bad `endpoint` (e.g. a non-loopback host), `token` or limit;
 *   the bind error when the address cannot be bound
 */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const { processor } = options;
  if (
    processor === null ||
    typeof processor !== 'object' ||
    typeof processor.onEmit !== 'function'
  ) {
    throw new TypeError(
      'starlog: startReceiver needs a processor (a LogRecordProcessor with onEmit)',
    );
  }
  const bind = parseReceiverEndpoint(options.endpoint);
  if (
    options.token !== undefined &&
    (typeof options.token !== 'string' || !/^[0-9a-fA-F]{32,}$/.test(options.token))
  ) {
    throw new TypeError('starlog: receiver token must be at least 32 hex digits (128 bits)');
  }
  const token = options.token ?? generateToken();
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes <= 0 || maxMessageBytes > 2 ** 31 - 1) {
    throw new TypeError(
      `starlog: maxMessageBytes must be a positive integer below 2 GiB; got ${JSON.stringify(maxMessageBytes)}`,
    );
  }
  const closeTimeoutMs = options.closeTimeoutMs ?? 2000;
  if (!Number.isFinite(closeTimeoutMs) || closeTimeoutMs < 0) {
    throw new TypeError(
      `starlog: closeTimeoutMs must be a number of ms >= 0; got ${JSON.stringify(closeTimeoutMs)}`,
    );
  }
  const levels = options.levels;
  if (
    levels !== undefined &&
    (levels === null ||
      typeof levels !== 'object' ||
      typeof levels.onChange !== 'function' ||
      typeof levels.get !== 'function')
  ) {
    throw new TypeError('starlog: receiver levels must be a LevelTable');
  }
  const maxLevelWatchers = options.maxLevelWatchers ?? 4096;
  if (!Number.isInteger(maxLevelWatchers) || maxLevelWatchers < 0) {
    throw new TypeError(
      `starlog: maxLevelWatchers must be an integer >= 0; got ${JSON.stringify(maxLevelWatchers)}`,
    );
  }
  const maxPerConnection = options.maxLevelWatchersPerConnection ?? 8;
  if (!Number.isInteger(maxPerConnection) || maxPerConnection < 1) {
    throw new TypeError(
      `starlog: maxLevelWatchersPerConnection must be an integer >= 1; got ${JSON.stringify(maxPerConnection)}`,
    );
  }
  const decoder = new OtlpLogsDecoder({
    maxMessageBytes,
    maxDepth: options.maxDepth,
    maxAttributes: options.maxAttributes,
    maxCollectionLength: options.maxCollectionLength,
  });
  const tokenCheck = new TokenCheck(token);
  const children = new ChildStatsTable();
  const logs = new LogsService(decoder, processor, tokenCheck, children, options.backpressure);

  const server = new Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': 1024 * 1024,
  });
  server.addService(LOGS_SERVICE, logs.handlers());
  const levelService =
    levels === undefined
      ? undefined
      : new LevelService(levels, tokenCheck, maxLevelWatchers, maxPerConnection);
  if (levelService !== undefined) server.addService(LEVEL_CONTROL_SERVICE, levelService.handlers());
  const authenticated = (metadata: Metadata) => tokenCheck.check(metadata);
  for (const extra of options.services ?? []) {
    server.addService(extra.definition, extra.handlers(authenticated));
  }

  let listening: Listening;
  try {
    listening = await Listening.bind(server, bind);
  } catch (err) {
    levelService?.close();
    throw err;
  }
  const target = listening.target;
  // hand-off files of exiting children (protocol/handoff.ts): the given directory, else the
  // private socket directory
  const handoffDir =
    options.handoffDir === false
      ? undefined
      : options.handoffDir !== undefined
        ? resolve(options.handoffDir)
        : listening.privateDir;
  let handoff =
    handoffDir === undefined
      ? undefined
      : new HandoffIntake({
          dir: handoffDir,
          ingest: (request) => logs.ingest(request),
          maxFileBytes: options.maxHandoffFileBytes ?? DEFAULT_MAX_HANDOFF_FILE_BYTES,
          scanIntervalMs: options.handoffScanIntervalMs ?? 1000,
        });
  if (handoff !== undefined && !(await handoff.start())) handoff = undefined;
  const env: ReceiverEnv = {
    STARLOG_ENDPOINT: target,
    STARLOG_TOKEN: token,
    STARLOG_PRIMARY_PID: String(process.pid),
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: target,
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grpc',
    OTEL_EXPORTER_OTLP_LOGS_INSECURE: 'true',
    OTEL_EXPORTER_OTLP_LOGS_HEADERS: `${TOKEN_METADATA_KEY}=${token}`,
  };
  if (handoff !== undefined) env[HANDOFF_DIR_ENV] = handoff.stats.dir;

  const closing = new BindOnceFuture(async () => {
    levelService?.close();
    // in-flight calls get closeTimeoutMs to finish, then are cut off
    await callWithTimeout(
      new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
      closeTimeoutMs,
    ).catch(() => server.forceShutdown());
    // children that exited up to now (the directory goes with the socket when it is the private one)
    await handoff?.close();
    await listening.remove();
  }, undefined);

  return {
    endpoint: target,
    get env() {
      return { ...env };
    },
    stats(): ReceiverStats {
      const c = logs.counters;
      return {
        requests: c.requests,
        records: c.records,
        rejected: {
          unauthenticated: tokenCheck.unauthenticated,
          invalidArgument: c.invalidArgument,
          resourceExhausted: c.resourceExhausted,
        },
        backpressure: c.backpressure,
        duplicates: c.duplicates,
        expired: c.expired,
        refusedDropped: c.refusedDropped,
        uncountedDrops: children.uncountedDrops,
        dropped: children.dropped(),
        processorErrors: c.processorErrors,
        children: children.snapshot(),
        levels: levelService?.stats(),
        handoff: handoff && { ...handoff.stats },
      };
    },
    async close(): Promise<void> {
      try {
        await closing.call();
      } catch (err) {
        diag.warn('starlog receiver: close failed', err);
      }
    },
  };
}
