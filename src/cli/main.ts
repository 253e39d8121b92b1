#!/usr/bin/env node
/** The `starlog` command. Each subcommand lives in its own file and registers itself here. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerConfig } from './config.ts';
import { registerFile } from './file.ts';
import { registerLevel } from './level.ts';
import { registerRun } from './run.ts';
import { registerTree } from './tree.ts';
import { registerView } from './view.ts';

function version(): string {
  try {
    // src/cli/main.ts is two levels below package.json; built, every module of dist/ is in
    // dist/ itself (scripts/build-dist.ts)
    const own = import.meta.url;
    const path = own.endsWith('.ts') ? '../../package.json' : '../package.json';
    const pkg = JSON.parse(readFileSync(new URL(path, own), 'utf8'));
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

const program = new Command('starlog')
  .description('OpenTelemetry-native logging for multi-process Node.js services')
  .version(version());
registerRun(program);
registerTree(program);
registerLevel(program);
registerConfig(program);
registerFile(program);
registerView(program);

await program.parseAsync(process.argv);
