import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

interface Tree {
  version?: string;
  dependencies?: Record<string, Tree>;
}

test('one copy of each @opentelemetry package, on one consistent version set (npm ls)', () => {
  const out = execFileSync('npm', ['ls', '--all', '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const versions = new Map<string, Set<string>>();
  const walk = (deps: Record<string, Tree> | undefined) => {
    for (const [name, node] of Object.entries(deps ?? {})) {
      if (name.startsWith('@opentelemetry/') && node.version) {
        const set = versions.get(name) ?? new Set<string>();
        set.add(node.version);
        versions.set(name, set);
      }
      walk(node.dependencies);
    }
  };
  walk((JSON.parse(out) as Tree).dependencies);
  for (const [name, set] of versions) {
    assert.equal(set.size, 1, `${name} is installed in versions ${[...set].join(', ')}`);
  }
  const one = (name: string) => [...(versions.get(name) ?? [])][0];
  assert.equal(one('@opentelemetry/api'), '1.10.0');
  assert.match(one('@opentelemetry/sdk-logs') ?? '', /^3\.1\./);
  assert.match(one('@opentelemetry/exporter-logs-otlp-grpc') ?? '', /^0\.301\./);
  assert.equal(one('@opentelemetry/core'), one('@opentelemetry/sdk-logs'));
});
