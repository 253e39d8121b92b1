/**
 * CPU of this process's threads by name, for the benches' timelines: which threads (V8's GC and
 * compiler helpers `V8Worker`, libuv's `libuv-worker`) besides the main thread spend the CPU.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU ms by thread name (Linux: `/proc/self/task/<tid>/stat`, clock ticks of 10 ms); `{}` elsewhere. */
export function threadCpuMs(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) * 10;
    }
  } catch {}
  return out;
}

/** `after - before` by thread name, as `name ms` for the threads that spent any. */
export const threadCpuDiff = (
  before: Record<string, number>,
  after: Record<string, number>,
): string =>
  Object.entries(after)
    .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
