import fs from 'node:fs';
import type { BrowserContext } from 'playwright-core';

/** Debian's chromium (setup installs it as root); never a downloaded browser. */
export const CHROMIUM = process.env.TICKETFLOW_CHROMIUM ?? '/usr/bin/chromium';

/** The reason browser tests skip, or false when Chromium is there. */
export const chromiumSkip: string | false = fs.existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM} (npm run setup installs Debian's chromium as root)`;

export async function launchChromium(userDataDir: string): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1180, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
