import type { MethodDefinition } from '@grpc/grpc-js';

/** The gRPC method the official OTLP exporters call (`logs_service.proto`, service `LogsService`). */
export const OTLP_LOGS_EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/** The (de)serializer of raw gRPC methods: bytes pass through; handlers and callers decode. */
export const identity = (value: Buffer): Buffer => value;

/**
 * A hand-made gRPC method definition whose messages are raw bytes (starlog decodes OTLP and the
 * level-control JSON itself), for `Server.addService` and generic clients.
 */
export function rawMethod(
  path: string,
  originalName: string,
  responseStream = false,
): MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName,
  };
}

/**
 * The `details` of the RESOURCE_EXHAUSTED answer of starlog's receiver when the primary's own
 * destination queues are nearly full: the child keeps the batch and sends it again shortly.
 */
export const BACKPRESSURE_DETAILS = 'starlog receiver: busy, destination queues nearly full; retry';
