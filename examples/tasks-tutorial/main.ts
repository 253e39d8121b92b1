// The distlog tutorial, ported: a top-level task, subtasks, success messages, a failure, and a
// child process that continues the task tree.
//
//   ./node_modules/.bin/node examples/tasks-tutorial/main.ts
//
// Every line printed is one OpenTelemetry log record: its task id (the position in the tree),
// severity, body and attributes. The same program runs as the child (argv[2] === 'child').
import { logs, SeverityNumber } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import {
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { continueTaskFromEnv, currentTask, fork, TaskAttributesProcessor, task, to } from 'starlog';

const isChild = process.argv[2] === 'child';

// A tiny line exporter, so the example needs nothing but the OpenTelemetry SDK.
const lines: LogRecordExporter = {
  export(records: ReadableLogRecord[], done: (r: ExportResult) => void) {
    for (const r of records) {
      // The stack trace is on the record; left out here to keep lines short.
      const { 'task.id': id, 'exception.stacktrace': _stack, ...attributes } = r.attributes;
      const where = isChild ? `child ${process.pid}` : 'parent';
      process.stdout.write(
        `${String(id ?? '-').padEnd(16)} ${String(r.severityText).padEnd(5)} ${String(r.body).padEnd(22)} ${JSON.stringify(attributes)}  [${where}, span ${r.spanContext?.spanId ?? '-'}]\n`,
      );
    }
    done({ code: 0 });
  },
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
logs.setGlobalLoggerProvider(
  new LoggerProvider({
    processors: [new TaskAttributesProcessor(), new SimpleLogRecordProcessor({ exporter: lines })],
  }),
);
const logger = logs.getLogger('tutorial');
const info = (body: string) =>
  logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body });

if (isChild) {
  // In a real program setupLogging() does this: continue the parent's task from TRACEPARENT.
  continueTaskFromEnv();
  info('child started'); // hangs under the parent's task slot
  await to('resize image', { size: 'large' }, async (sub) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    sub.success('image resized');
  });
} else {
  await task('toplevel task', { user: 'leo' }, async (job) => {
    info('inside the toplevel task');

    to('subtask', (sub) => {
      info('inside the subtask');
      sub.success('subtask done'); // the exit record's body
    });

    try {
      to('failing subtask', { attempt: 1 }, () => {
        throw new Error('no more coffee');
      });
    } catch {
      info('recovered from the failure');
    }

    job.bind({ order: 42 }); // on every record of the rest of the task
    await to('ask a child process', async () => {
      const child = fork(import.meta.filename, ['child']);
      await new Promise((resolve) => child.once('exit', resolve));
    });

    info(`current task id: ${currentTask()?.id}`);
    job.success('all done');
  });
}
