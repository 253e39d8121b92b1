import type { Server } from '@grpc/grpc-js';
import { diag } from '@opentelemetry/api';

/**
 * Lets the process end while a grpc-js `Server` is still listening, as `net.Server#unref()` does:
 * a logging library must not keep its host process alive. grpc-js has no public `unref()`, so
 * this unrefs the listening HTTP/2 servers it keeps in its `http2Servers` map (present in
 * grpc-js 1.x). Connected children still keep the process alive (their sessions are ref'd),
 * which is what a primary waiting for its children wants. If the internals are not there, the
 * server stays ref'd and this says so through `diag`.
 */
export function unrefServer(server: Server): void {
  const servers = (server as unknown as { http2Servers?: Map<{ unref?: () => void }, unknown> })
    .http2Servers;
  if (!(servers instanceof Map)) {
    diag.warn(
      'starlog: cannot unref the receiver (grpc-js internals changed); it keeps the process alive until close()',
    );
    return;
  }
  for (const http2Server of servers.keys()) http2Server.unref?.();
}
