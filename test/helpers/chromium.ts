import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { ensureDebianPackages } from './debian-packages.js';

/** Debian's Chromium, driven by playwright-core (which downloads no browser of its own). */
export const CHROMIUM = '/usr/bin/chromium';

/** Installs Debian's chromium when missing (`purpose` names the tests in the message when that cannot be done) and launches it headless. */
export async function launchChromium(purpose: string): Promise<Browser> {
  ensureDebianPackages(['chromium'], () => fs.existsSync(CHROMIUM), purpose);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
