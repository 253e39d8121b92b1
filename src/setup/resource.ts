import { basename } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { Attributes } from '@opentelemetry/api';
import {
  defaultResource,
  detectResources,
  envDetector,
  type Resource,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { serviceNameFromEnvironment } from '../config/environment.ts';
import { ROLE_ATTRIBUTE } from '../semconv.ts';

/**
 * The resource of a starlog process: the SDK defaults (`telemetry.sdk.*`), `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES` (the OpenTelemetry env detector), then starlog's own attributes:
 * `service.name` (option, else `OTEL_SERVICE_NAME`, else the main script's base name),
 * `process.pid`, `process.executable.name`, `starlog.role` (`primary`|`child`) and, in a worker
 * thread, `thread.id`. `attributes` win over everything.
 */
export function buildResource(
  role: 'primary' | 'child',
  serviceName: string | undefined,
  attributes: Attributes | undefined,
): Resource {
  const fromEnv = detectResources({ detectors: [envDetector] });
  const own: Attributes = {
    'process.pid': process.pid,
    'process.executable.name': basename(process.execPath),
    [ROLE_ATTRIBUTE]: role,
  };
  const name = serviceName ?? serviceNameFromEnvironment(process.env) ?? mainScriptName();
  if (name !== undefined) own['service.name'] = name;
  if (threadId !== 0) own['thread.id'] = threadId;
  return defaultResource()
    .merge(fromEnv)
    .merge(resourceFromAttributes(own))
    .merge(resourceFromAttributes(attributes ?? {}));
}

function mainScriptName(): string | undefined {
  const script = process.argv[1];
  if (!script) return undefined;
  return basename(script).replace(/\.(c|m)?(j|t)s$/, '');
}
