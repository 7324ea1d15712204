/** Opening pages in headless Chromium with CSP violations, page errors and dialogs recorded. */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Chromium for a run that cleans up after itself: with Playwright's own signal handlers
 * (handleSIG*), the process would exit on Ctrl-C before the run's cleanup.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
}

export interface Opened {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions and console errors. */
  errors: string[];
  /** alert/confirm/prompt messages (each dismissed). */
  dialogs: string[];
  /** CSP violations reported by the page (securitypolicyviolation events). */
  violations(): Promise<string[]>;
  close(): Promise<void>;
}

export interface OpenOptions {
  colorScheme?: 'light' | 'dark';
  width?: number;
  height?: number;
  /** Removes window.customElements before any page script runs (the component layer must degrade). */
  noCustomElements?: boolean;
  /** Runs before any page script, after the recorder (the stand-in host's part of a webview). */
  initScript?: string;
}

// Runs before any page script (injected by the browser, so the page's CSP does not apply to it).
const RECORDER = `
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)') + ' at ' + e.sourceFile + ':' + e.lineNumber + ' ' + (e.sample || ''));
  });
`;
const NO_CUSTOM_ELEMENTS = `Object.defineProperty(window, 'customElements', { value: undefined, configurable: true });`;

export async function openPage(browser: Browser, url: string, o: OpenOptions = {}): Promise<Opened> {
  const context = await browser.newContext({
    viewport: { width: o.width ?? 1100, height: o.height ?? 900 },
    colorScheme: o.colorScheme ?? 'light',
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Failed loads are reported below with their URL.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    // Chromium asks for /favicon.ico on its own; VS Code webviews never do.
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  await page.addInitScript({ content: RECORDER + (o.noCustomElements ? NO_CUSTOM_ELEMENTS : '') + (o.initScript ?? '') });
  await page.goto(url);
  await page.waitForSelector('.concept-card', { timeout: 15_000 });
  return {
    context,
    page,
    errors,
    dialogs,
    violations: () => page.evaluate('window.__csp') as Promise<string[]>,
    close: () => context.close(),
  };
}

/** Evaluates a JavaScript expression in the page (strings keep DOM types out of the Node build). */
export function js<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** Scrolls every <img> into view, waits for it, and returns those that did not load. */
export function brokenImages(page: Page): Promise<string[]> {
  return js<string[]>(
    page,
    `(async () => {
      const bad = [];
      for (const im of [...document.images]) {
        im.scrollIntoView({ block: 'center' });
        if (!im.complete) await new Promise((r) => { im.addEventListener('load', r, { once: true }); im.addEventListener('error', r, { once: true }); setTimeout(r, 5000); });
        if (!(im.naturalWidth > 0)) bad.push((im.alt || im.className || 'img') + ' ' + String(im.src).slice(0, 80));
      }
      window.scrollTo(0, 0);
      return bad;
    })()`,
  );
}

/** The messages the page posted to the (stand-in) extension host. */
export function posted(page: Page): Promise<{ type: string; image?: number }[]> {
  return js(page, 'window.__posted');
}
