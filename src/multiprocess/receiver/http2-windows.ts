/**
 * Wider HTTP/2 flow-control windows for the receiver's connections. grpc-js servers keep Node's
 * defaults (64 KiB per stream and per connection, 16 KiB frames) and have no option for them:
 * a child's 0.5–1 MiB `Export` request then needs a WINDOW_UPDATE from the primary every
 * 64 KiB, and the primary sends one only when its event loop turns, i.e. between two requests
 * it decodes. With four children sending at once the primary sat idle between those turns
 * (18 % of its time in `bench/vs-peers.ts --part 2`) waiting for bytes its own windows held
 * back. Each new session gets a connection window of {@link CONNECTION_WINDOW_BYTES}, a stream
 * window of {@link STREAM_WINDOW_BYTES} and frames of up to {@link MAX_FRAME_BYTES}, so a
 * child's whole request can be on its way while the primary works on another. The kernel's
 * socket buffers and the children's own bounds (requests in flight) still bound the memory.
 *
 * @module
 */
import type { Http2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import { diag } from '@opentelemetry/api';

/** Connection-level receive window of a receiver session, bytes. */
export const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
/** Initial per-stream receive window announced to children, bytes. */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/** Largest DATA frame a child may send, bytes (HTTP/2 allows up to 16 MiB − 1). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Widens the windows of every session of `server`'s listening HTTP/2 servers (grpc-js internals). */
export function widenHttp2Windows(server: Server): void {
  const servers = (
    server as unknown as {
      http2Servers?: Map<
        { on?: (event: string, listener: (s: Http2Session) => void) => void },
        unknown
      >;
    }
  ).http2Servers;
  if (!(servers instanceof Map)) {
    diag.debug('starlog: cannot widen the receiver HTTP/2 windows (grpc-js internals changed)');
    return;
  }
  for (const http2Server of servers.keys()) http2Server.on?.('session', widen);
}

function widen(session: Http2Session): void {
  try {
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    session.settings({ initialWindowSize: STREAM_WINDOW_BYTES, maxFrameSize: MAX_FRAME_BYTES });
  } catch (err) {
    diag.debug('starlog: could not widen an HTTP/2 session window', err);
  }
}
