// Shared by the browser tests of `starlog view`: real Chromium (Debian's package, installed by
// .ci/run) driven by playwright-core. Where it is absent, tests skip with a visible notice.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when Chromium is installed. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const notice = `NOTICE: ${CHROMIUM} is not installed (apt-get install -y chromium): starlog view browser tests skipped`;
  process.stderr.write(`${notice}\n`);
  return notice;
}

/** Launches headless Chromium with nothing that talks to the network on its own. */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
