/**
 * Where the receiver listens: binds a gRPC server to a parsed receiver endpoint (a socket in a
 * fresh private directory, a fixed socket path, or loopback TCP), unrefs it, and removes what it
 * created on close.
 *
 * @module
 */
import { chmod, lstat, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Server, ServerCredentials } from '@grpc/grpc-js';
import { diag } from '@opentelemetry/api';
import { endpointUrl, grpcChannelTarget, type ReceiverEndpoint } from '../protocol/endpoint.ts';
import { widenHttp2Windows } from './http2-windows.ts';
import { unrefServer } from './unref-server.ts';

/** A bound server's address and what to remove when it stops. */
export class Listening {
  /** the `STARLOG_ENDPOINT` form: `unix:///abs/path.sock` or `http://HOST:PORT` */
  readonly target: string;
  private readonly dir: string | undefined;
  private readonly socketPath: string | undefined;

  private constructor(target: string, dir: string | undefined, socketPath: string | undefined) {
    this.target = target;
    this.dir = dir;
    this.socketPath = socketPath;
  }

  /**
   * Binds `server` (socket directory 0700, socket 0600) and unrefs it (an idle receiver does not
   * keep the process alive).
   * @throws the bind error (the server is then shut down and the private directory removed)
   */
  static async bind(server: Server, bind: ReceiverEndpoint): Promise<Listening> {
    let dir: string | undefined;
    let socketPath: string | undefined;
    let target: string;
    try {
      if (bind.kind === 'tcp') {
        const port = await bindAsync(server, grpcChannelTarget(bind));
        target = endpointUrl({ ...bind, port });
      } else {
        if (bind.kind === 'private-unix') {
          dir = await mkdtemp(join(tmpdir(), 'starlog-'));
          await chmod(dir, 0o700);
          socketPath = join(dir, 'receiver.sock');
        } else {
          socketPath = bind.path;
          await removeStaleSocket(socketPath);
        }
        target = endpointUrl({ kind: 'unix', path: socketPath });
        await bindAsync(server, target);
        await chmod(socketPath, 0o600);
      }
    } catch (err) {
      server.forceShutdown();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      throw err;
    }
    unrefServer(server);
    widenHttp2Windows(server);
    return new Listening(target, dir, socketPath);
  }

  /** The fresh private directory (0700) holding the socket, when the receiver made one. */
  get privateDir(): string | undefined {
    return this.dir;
  }

  /** Removes the private directory (or the socket file at a fixed path). Never rejects. */
  async remove(): Promise<void> {
    try {
      if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
      else if (this.socketPath !== undefined) await rm(this.socketPath, { force: true });
    } catch (err) {
      diag.warn('starlog receiver: could not remove the socket', err);
    }
  }
}

function bindAsync(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    );
  });
}

/**
 * Removes a socket file nobody listens on (left by a primary that crashed), so that a new primary
 * can bind the same path. A path that is not a socket, or a socket that accepts connections, is
 * left alone (the bind then fails with EADDRINUSE).
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return; // no such file
  }
  if (!isSocket) return;
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'ECONNREFUSED'));
  });
  if (!live) {
    diag.info(`starlog receiver: removing the stale socket ${path} (its receiver is gone)`);
    await rm(path, { force: true });
  }
}
