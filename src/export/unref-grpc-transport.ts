/**
 * The gRPC transport of a child's exports to its primary: the official OTLP export delegate
 * (`createOtlpNetworkExportDelegate`: concurrency limit, metrics, response handling) over a
 * grpc-js unary call, like the official `GrpcExporterTransport`, except that an open call never
 * keeps the process alive.
 *
 * Why not the official transport: grpc-js arms a *ref'd* timer for a call's deadline and refs the
 * connection while a call is open, so an export in flight to a hung primary keeps a child alive
 * until its deadline (30 s by default), whatever `shutdownTimeoutMs` says, and the event loop of
 * a child that is done never runs dry (no `beforeExit`). Here the deadline is an unref'd timer
 * of ours (the call is cancelled and reported as DEADLINE_EXCEEDED, as grpc-js would), the
 * connection's socket is unref'd ({@link UnrefInsecureCredentials}) and so is a call waiting for
 * a connection (`unrefPendingCalls`). Whoever needs the process
 * alive while exports are in flight holds it, for a bounded time: the exit hooks at `beforeExit`,
 * `shutdown()` until its `shutdownTimeout`.
 *
 * @module
 */
import type { Socket } from 'node:net';
import {
  ChannelCredentials,
  type Client,
  type ClientUnaryCall,
  credentials,
  type Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { diag } from '@opentelemetry/api';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';

type ConnectorArgs = Parameters<ChannelCredentials['_createSecureConnector']>;
type SecureConnector = ReturnType<ChannelCredentials['_createSecureConnector']>;

/** Unrefs `socket` and makes later `ref()` calls (grpc-js refs it for every open call) no-ops. */
function unrefForGood(socket: Socket): void {
  socket.unref();
  socket.ref = () => socket;
}

/**
 * Insecure channel credentials (`credentials.createInsecure()`) whose connections are unref'd,
 * through grpc-js's `ChannelCredentials` extension point (`_createSecureConnector`, the step that
 * hands grpc-js the connected socket). Equal only to itself: each exporter has its own
 * connection, as starlog's `ReconnectingExporter` wants.
 */
export class UnrefInsecureCredentials extends ChannelCredentials {
  private readonly inner = credentials.createInsecure();

  _isSecure(): boolean {
    return false;
  }

  _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(...args: ConnectorArgs): SecureConnector {
    const c = this.inner._createSecureConnector(...args);
    return {
      connect: async (socket) => {
        const result = await c.connect(socket);
        unrefForGood(result.socket);
        if (result.socket !== socket) unrefForGood(socket);
        return result;
      },
      waitForReady: () => c.waitForReady(),
      getCallCredentials: () => c.getCallCredentials(),
      destroy: () => c.destroy(),
    };
  }
}

/** What {@link UnrefGrpcTransport} needs. */
export interface UnrefGrpcTransportOptions {
  /** grpc-js target, e.g. `unix:///run/starlog.sock` or `127.0.0.1:4317` */
  address: string;
  /** the gRPC method path, e.g. `/opentelemetry.proto.collector.logs.v1.LogsService/Export` */
  path: string;
  /** sent with every call (the token) */
  metadata: Metadata;
  /** grpc-js `grpc.primary_user_agent` (distinct per exporter generation: a fresh channel) */
  userAgent?: string;
}

const identity = (b: Buffer): Buffer => b;

/** A deadline error shaped like grpc-js's own (`code` 4), so that it is classified (and retried) alike. */
function deadlineExceeded(timeoutMillis: number): ServiceError {
  return Object.assign(new Error(`4 DEADLINE_EXCEEDED: Deadline exceeded (${timeoutMillis} ms)`), {
    code: status.DEADLINE_EXCEEDED,
    details: 'Deadline exceeded',
    metadata: undefined as unknown as Metadata,
  });
}

/**
 * An OTLP exporter transport (`IExporterTransport` of `@opentelemetry/otlp-exporter-base`) over
 * plain-text gRPC whose open calls do not keep the process alive (see the module comment). Each
 * `send` is one unary call with `timeoutMillis` as its deadline; the result is the official
 * transport's: `success` with the response bytes, or `failure` with the grpc-js `ServiceError`.
 */
export class UnrefGrpcTransport implements IExporterTransport {
  private readonly options: UnrefGrpcTransportOptions;
  private client: Client | undefined;
  private readonly open = new Set<ClientUnaryCall>();

  constructor(options: UnrefGrpcTransportOptions) {
    this.options = options;
  }

  send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    return new Promise((resolve) => {
      let client: Client;
      try {
        client = this.client ??= this.makeClient();
      } catch (error) {
        resolve({ status: 'failure', error: error as Error });
        return;
      }
      let settled = false;
      const settle = (response: ExportResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.open.delete(call);
        resolve(response);
      };
      const call = client.makeUnaryRequest<Buffer, Buffer>(
        this.options.path,
        identity,
        identity,
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        this.options.metadata,
        {},
        (err, response) =>
          settle(err ? { status: 'failure', error: err } : { status: 'success', data: response }),
      );
      this.open.add(call);
      const timer = setTimeout(() => {
        settle({ status: 'failure', error: deadlineExceeded(timeoutMillis) });
        call.cancel();
        // the peer did not answer in time: the next call goes over a fresh connection, not
        // behind the requests this one may still have queued (the official transport does the
        // same after 5 deadlines); the old one closes when its last call ends
        if (this.client === client) {
          client.close();
          this.client = undefined;
        }
      }, timeoutMillis);
      timer.unref();
    });
  }

  /** Cancels the open calls (their `send` resolves as failed) and closes the channel. */
  shutdown(): void {
    for (const call of this.open) call.cancel();
    this.open.clear();
    this.client?.close();
    this.client = undefined;
  }

  private makeClient(): Client {
    const Ctor = makeGenericClientConstructor(
      {
        export: {
          path: this.options.path,
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      },
      'LogsExportService',
    );
    const client = new Ctor(this.options.address, new UnrefInsecureCredentials(), {
      ...(this.options.userAgent === undefined
        ? {}
        : { 'grpc.primary_user_agent': this.options.userAgent }),
    });
    unrefPendingCalls(client);
    return client;
  }
}

/**
 * grpc-js also keeps the process alive while a call waits for a connection (a ref'd
 * `callRefTimer` of its internal channel, in grpc-js 1.x), e.g. when the primary hung before this
 * child ever connected (the socket accepts, the HTTP/2 handshake never completes). Its
 * `callRefTimerRef` is replaced by one that leaves the timer unref'd; if the internals are not
 * there, such a call keeps the process alive until its deadline, as `diag` says.
 */
function unrefPendingCalls(client: Client): void {
  const internal = (client.getChannel() as unknown as { internalChannel?: Record<string, unknown> })
    .internalChannel;
  if (internal === undefined || typeof internal.callRefTimerRef !== 'function') {
    diag.debug(
      'starlog: cannot unref grpc-js calls waiting for a connection (internals changed); they keep the process alive until their deadline',
    );
    return;
  }
  internal.callRefTimerRef = () => {};
}
