import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { startLocalServer } from '../../bin/serve';
import { useTestDatabase } from '../helpers/db';

/** Debian's chromium package; `.ci/run` installs it from `.ci/apt-packages`. */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`Skipping the /docs browser test: ${CHROMIUM} is missing (apt-get install chromium).`);
}
const describeIfChromium = hasChromium ? describe : describe.skip;

useTestDatabase({ clearBetweenTests: false });

describeIfChromium('API reference pages in a browser', () => {
  let server: Server;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    server = await startLocalServer(0, '127.0.0.1');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  const open = async (path: string) => {
    const page = await browser.newPage();
    const problems: string[] = [];
    const outside: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('request', (request) => {
      if (!request.url().startsWith(base) && !/^(data|blob):/.test(request.url()))
        outside.push(request.url());
    });
    await page.goto(`${base}${path}`);
    return { page, problems, outside };
  };

  it('renders every route group in Swagger UI at /docs, offline and without errors', async () => {
    const { page, problems, outside } = await open('/docs');
    await page.waitForSelector('.opblock-tag', { timeout: 30_000 });
    const groups = await page.locator('.opblock-tag').allTextContents();
    for (const group of [
      'Persons',
      'Conversations',
      'Interactions',
      'Actions',
      'Streams',
      'Service',
      'Health',
    ]) {
      expect(groups.some((text) => text.trim().startsWith(group))).toBe(true);
    }
    // Groups start collapsed (280 operations); opening one lists its routes.
    for (const group of ['Persons', 'Networks', 'Privacy'])
      await page.locator(`.opblock-tag[data-tag="${group}"]`).click();
    await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 });
    expect(await page.locator('.opblock-summary-path').count()).toBeGreaterThan(20);
    expect(await page.locator('.errors-wrapper').count()).toBe(0); // Swagger UI's spec-error box
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renders the route groups in Redoc at /redoc', async () => {
    const { page, problems, outside } = await open('/redoc');
    // A locator, not waitForFunction: a string predicate is evaluated with eval, which the page's CSP forbids.
    await page.getByText('Conversations', { exact: true }).first().waitFor({ timeout: 30_000 });
    const text = await page.innerText('body');
    for (const group of ['Persons', 'Conversations', 'Interactions', 'Actions', 'Streams', 'Service']) {
      expect(text).toContain(group);
    }
    // Redoc's bundle always tries its vendor logo from a CDN; the page's CSP blocks it, so nothing leaves.
    const logo = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
    expect(outside.filter((url) => url !== logo)).toEqual([]);
    expect(problems.filter((message) => !message.includes(logo))).toEqual([]);
    await page.close();
  });
});
