import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { inCi } from '@csk/conformance/scenarios/live';
import { killExample, startExample, stopExample, type RunningExample } from './example-server.js';

// examples/basic in headless Chromium: the system's browser (Debian's `chromium` package; .ci/run installs it),
// driven by playwright-core, which downloads no browser of its own. CSK_CHROMIUM names another executable.
const CHROMIUM = process.env.CSK_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
/** How long one browser step (a navigation, a click, a wait for an element) may take. */
const STEP_TIMEOUT_MS = 10_000;

if (!haveChromium && !inCi()) {
  process.stderr.write(`[csk] skipped the example's browser test: no Chromium at ${CHROMIUM} (apt-get install chromium)\n`);
}

// In CI a missing browser fails the suite instead of skipping it, like a missing live database.
const describeBrowser = haveChromium || inCi() ? describe : describe.skip;

describeBrowser('examples/basic in headless Chromium', () => {
  let dir: string;
  let browser: Browser | undefined;
  let running: RunningExample | undefined;

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`no Chromium at ${CHROMIUM}: CI must run the browser test, not skip it`);
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-e2e-'));
  });

  /**
   * Two browser contexts whose every wait gives up after 10 s (Playwright's own default is 30 s, jest's whole test
   * budget): a step that never happens then fails naming its locator or URL, not as the test's timeout.
   */
  async function twoBrowsers(): Promise<BrowserContext[]> {
    const contexts = [await browser!.newContext(), await browser!.newContext()];
    for (const context of contexts) context.setDefaultTimeout(STEP_TIMEOUT_MS);
    return contexts;
  }
  afterEach(() => {
    killExample(running);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function views(page: Page): Promise<number> {
    return Number(await page.locator('#views').textContent());
  }

  async function user(page: Page): Promise<string | null> {
    // Exactly one of the two is on the page: wait for whichever it is.
    await page.locator('#user, #user-none').waitFor();
    return (await page.locator('#user').count()) > 0 ? page.locator('#user').textContent() : null;
  }

  // Each form posts and the server answers 303 back to the page. The page after it is told from the one before by which
  // account block it shows, so each step waits for that block rather than for a navigation event.
  async function logIn(page: Page, name: string): Promise<void> {
    await page.fill('#username', name);
    await page.click('#login');
    await page.locator('#user').waitFor();
  }

  async function logOut(page: Page, button: '#logout' | '#logout-everywhere'): Promise<void> {
    await page.click(button);
    await page.locator('#user-none').waitFor();
  }

  it('keeps count and login across a restart, and "Log out everywhere" ends the other browser too', async () => {
    running = await startExample(dir);
    const url = running.url;
    // The same port after the restart, so that it is the same site to the browser.
    const port = Number(new URL(url).port);
    const contexts = await twoBrowsers();
    try {
      const [a, b] = await Promise.all(contexts.map((context) => context.newPage())) as [Page, Page];

      await a.goto(url);
      expect(await views(a)).toBe(1);
      expect(await user(a)).toBeNull();
      await logIn(a, 'ada');
      expect(await user(a)).toBe('ada');
      expect(await views(a)).toBe(2);
      await a.reload();
      expect(await views(a)).toBe(3);

      await b.goto(url);
      expect(await views(b)).toBe(1);
      await logIn(b, 'ada');
      expect(await user(b)).toBe('ada');
      expect(await views(b)).toBe(2);

      expect(await stopExample(running)).toBe(0);
      running = await startExample(dir, port);
      expect(running.url).toBe(url);

      // Each browser's count goes on from where it was, still logged in: the sessions lived in the SQLite file.
      await a.reload();
      expect(await views(a)).toBe(4);
      expect(await user(a)).toBe('ada');
      await b.reload();
      expect(await views(b)).toBe(3);
      expect(await user(b)).toBe('ada');

      await logOut(a, '#logout-everywhere');
      expect(await user(a)).toBeNull();
      expect(await views(a)).toBe(1);
      await b.reload();
      expect(await user(b)).toBeNull();
      expect(await views(b)).toBe(1);

      expect(running.output).toMatch(/store: destroyed 2 session\(s\) where {"userId":"ada"}/);
    } finally {
      await Promise.all(contexts.map((context) => context.close()));
    }
    expect(await stopExample(running)).toBe(0);
  });

  it('"Log out" ends only this browser\'s session', async () => {
    running = await startExample(dir);
    const contexts = await twoBrowsers();
    try {
      const [a, b] = await Promise.all(contexts.map((context) => context.newPage())) as [Page, Page];
      for (const page of [a, b]) {
        await page.goto(running.url);
        await logIn(page, 'grace');
      }
      await logOut(a, '#logout');
      expect(await user(a)).toBeNull();
      await b.reload();
      expect(await user(b)).toBe('grace');
      expect(await views(b)).toBe(3);
    } finally {
      await Promise.all(contexts.map((context) => context.close()));
    }
    expect(await stopExample(running)).toBe(0);
  });
});
