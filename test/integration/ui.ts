// Browser-side checks of the extension, driven like a user: the command palette, each prompt answered by
// typing and Enter, then the results page counted inside the webview's frame. Used by launch.ts (after
// the Mocha suite, on a fresh workspace) and vsix-check.ts (on the installed VSIX).
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';

export interface UiLog {
  (msg: string): void;
}

/**
 * Opens the workbench on `folder` in a fresh browser context (its own service workers and storage);
 * `prepare` runs on the context before the page opens (e.g. to record its webviews' CSP violations).
 */
export async function openWorkbench(
  browser: Browser,
  base: string,
  port: number,
  folder: string,
  extensionDevelopmentPath?: string,
  prepare?: (context: BrowserContext) => Promise<void>,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await prepare?.(context);
  const page = await context.newPage();
  const payload: string[][] = [['skipWelcome', 'true']];
  if (extensionDevelopmentPath) payload.unshift(['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${port}${extensionDevelopmentPath}`]);
  await page.goto(`${base}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
  return { context, page };
}

const QUICK_INPUT = '.quick-input-widget';

/**
 * F1, type the command's title, and run the row whose label is exactly that title. Retried: right after
 * the window opens, the palette may not list the extension's commands yet.
 */
export async function runFromPalette(page: Page, title: string, attempts = 4): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    // Keys go to the focused frame: focus the workbench itself (the empty part of the side bar), not
    // an editor or a webview, first.
    await page
      .locator('.part.sidebar')
      .click({ position: { x: 100, y: 700 } })
      .catch(() => undefined);
    await page.keyboard.press('F1');
    try {
      await page.locator(`${QUICK_INPUT} input`).waitFor({ state: 'visible', timeout: 10_000 });
      await page.keyboard.type(title, { delay: 5 });
      const row = page.locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row`).filter({
        has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }),
      });
      await row.first().waitFor({ state: 'visible', timeout: 10_000 });
      await row.first().click();
      return;
    } catch (e) {
      if (attempt >= attempts) throw e;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(2000);
    }
  }
}

/**
 * The rows of the open quick pick as shown, top first: "label · description" (codicons as their
 * names), separators as "-- label --".
 */
export async function promptRows(page: Page): Promise<string[]> {
  return page.locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row`).evaluateAll((rows) =>
    rows
      .map((row) => {
        const text = (sel: string) => (row.querySelector(sel)?.textContent ?? '').trim();
        const label = text('.label-name');
        const description = text('.label-description');
        // A separator is drawn inside the row of the item after it.
        const separator = text('.quick-input-list-separator');
        const item = description ? `${label} · ${description}` : label;
        return [...(separator ? [`-- ${separator} --`] : []), ...(label ? [item] : [])];
      })
      .flat(),
  );
}

/** Waits for the prompt whose title contains `step` and for its rows; returns them (see promptRows). */
export async function waitForPrompt(page: Page, step: string, timeoutMs = 60_000): Promise<string[]> {
  const title = page.locator(`${QUICK_INPUT} .quick-input-title`, { hasText: step });
  await title.waitFor({ state: 'visible', timeout: timeoutMs });
  for (let i = 0; i < 50; i++) {
    const rows = await promptRows(page);
    if (rows.length) return rows;
    await page.waitForTimeout(100);
  }
  return [];
}

/**
 * Waits for the prompt whose title contains `step`, types `text` and presses Enter. For a QuickPick,
 * waits until the filtered list's first row contains `expectRow` so Enter picks the intended item.
 */
export async function answer(page: Page, step: string, text: string, expectRow?: string, timeoutMs = 60_000): Promise<string> {
  const title = page.locator(`${QUICK_INPUT} .quick-input-title`, { hasText: step });
  await title.waitFor({ state: 'visible', timeout: timeoutMs });
  const input = page.locator(`${QUICK_INPUT} .quick-input-box input`);
  await input.fill(text);
  let picked = text;
  if (expectRow) {
    const first = page.locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row`).first();
    await first.filter({ hasText: expectRow }).waitFor({ state: 'visible', timeout: 15_000 });
    picked = ((await first.locator('.label-name').first().textContent()) ?? '').trim();
  } else {
    // An input box validates as it is typed: no error message may be showing.
    await page.waitForTimeout(200);
    const error = await page.locator(`${QUICK_INPUT} .quick-input-message.error, ${QUICK_INPUT} .monaco-inputbox.error`).count();
    if (error > 0) throw new Error(`the "${step}" prompt refused "${text}"`);
  }
  await page.keyboard.press('Enter');
  // The prompt goes away (or the next one replaces it).
  await title.waitFor({ state: 'hidden', timeout: 15_000 }).catch(() => undefined);
  return picked;
}

/** Waits for a results folder's latest.json to name a run folder holding results.json; returns it. */
export async function waitForRun(resultsRoot: string, notBefore: string | undefined, timeoutMs: number): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const { run } = JSON.parse(fs.readFileSync(path.join(resultsRoot, 'latest.json'), 'utf8')) as { run: string };
      const dir = path.join(resultsRoot, run);
      if (run !== notBefore && fs.existsSync(path.join(dir, 'results.json'))) return dir;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no run appeared in ${resultsRoot} within ${timeoutMs} ms`);
}

/** The frame (nested inside the webview's iframes) showing `.concept-card` elements, with their count. */
export async function conceptCards(page: Page, expected: number, timeoutMs: number): Promise<{ frame: Frame; count: number }> {
  const end = Date.now() + timeoutMs;
  let best = { frame: page.mainFrame(), count: 0 };
  while (Date.now() < end) {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame()) continue;
      const count = await frame
        .locator('.concept-card')
        .count()
        .catch(() => 0);
      if (count > best.count || (count > 0 && best.frame.isDetached())) best = { frame, count };
      if (count === expected) return { frame, count };
    }
    await page.waitForTimeout(250);
  }
  return best;
}

/** Titles of the editor tabs (the results panel is one). */
export async function tabTitles(page: Page): Promise<string[]> {
  return page.locator('.tabs-container .tab .label-name').allTextContents();
}

export interface ExplainUiResult {
  runDir: string;
  concepts: number;
  cards: number;
  picked: string[];
  config: Record<string, unknown>;
  restoredCards?: number;
  /** The rows the image folder and class prompts offered before anything was typed (promptRows). */
  offered: { images: string[]; class: string[] };
  /** Texts of the progress notification seen while the run went. */
  progress: string[];
}

/** The text of the notification toasts showing now. */
export async function toastTexts(page: Page): Promise<string[]> {
  return page
    .locator('.notifications-toasts .notification-toast')
    .evaluateAll((toasts) => toasts.map((t) => (t as unknown as { innerText: string }).innerText.replace(/\s+/g, ' ').trim()));
}

/**
 * "CRAFT: Explain class" from the palette on a workspace with no craft.config.json: every prompt appears
 * and is answered (model, input size, images, class, layer); then the run, its panel and its cards.
 */
export async function explainAnsweringEveryPrompt(page: Page, workspace: string, log: UiLog, screenshotDir?: string): Promise<ExplainUiResult> {
  const resultsRoot = path.join(workspace, '.craft');
  await runFromPalette(page, 'CRAFT: Explain class');
  const picked: string[] = [];
  picked.push(await answer(page, 'model', 'fmnist', 'model/fmnist_cnn.onnx'));
  picked.push(await answer(page, 'input size', '28'));
  const shoot = async (name: string) => {
    if (!screenshotDir) return;
    fs.mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir, name) });
  };
  const offered = { images: await waitForPrompt(page, 'images'), class: [] as string[] };
  await shoot('ui-prompt-images.png');
  picked.push(await answer(page, 'images', 'ankle_boot', 'images/ankle_boot'));
  offered.class = await waitForPrompt(page, 'class');
  await shoot('ui-prompt-class.png');
  picked.push(await answer(page, 'class', 'Ankle boot', '9 Ankle boot'));
  // The layer list comes from a probe run of the model (a worker process): allow it time.
  picked.push(await answer(page, 'layer', 'MaxPool_1', '/g/MaxPool_1_output_0', 90_000));
  log(`palette: answered ${picked.map((p) => JSON.stringify(p)).join(', ')}`);
  // The progress notification, as long as the run goes (the run folder appears at its end).
  const progress: string[] = [];
  // One picture past the model stage, replaced by one with an ETA when the run lasts long enough.
  let shot: 'none' | 'stage' | 'eta' = 'none';
  const end = Date.now() + 180_000;
  while (Date.now() < end && !fs.existsSync(path.join(resultsRoot, 'latest.json'))) {
    for (const t of await toastTexts(page)) {
      if (!t.includes('CRAFT: explaining')) continue;
      if (progress[progress.length - 1] !== t) progress.push(t);
      const want = / ETA /.test(t) ? 'eta' : /\d+% · (?!model)\w+ \d+\/\d+/.test(t) ? 'stage' : 'none';
      if ((want === 'eta' && shot !== 'eta') || (want === 'stage' && shot === 'none')) {
        await shoot('ui-progress.png');
        shot = want;
      }
    }
    await page.waitForTimeout(100);
  }
  const runDir = await waitForRun(resultsRoot, undefined, 180_000);
  const bundle = JSON.parse(fs.readFileSync(path.join(runDir, 'results.json'), 'utf8')) as { concepts: unknown[] };
  const { count } = await conceptCards(page, bundle.concepts.length, 60_000);
  if (screenshotDir) {
    fs.mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir, 'ui-explain.png') });
  }
  const config = JSON.parse(fs.readFileSync(path.join(workspace, 'craft.config.json'), 'utf8')) as Record<string, unknown>;
  return { runDir, concepts: bundle.concepts.length, cards: count, picked, config, offered, progress };
}

/**
 * "Refine…" on the first concept card of the run's panel: the layer prompt answered with the default
 * (the end of the previous resolution stage), then the sub-concepts nested in that card, every picture
 * loaded, and "Open sub-concepts" opening the refined run in a panel of its own.
 */
export async function refineFromCard(page: Page, runDir: string, concepts: number, screenshotDir?: string): Promise<void> {
  const { frame } = await conceptCards(page, concepts, 10_000);
  const card = frame.locator('.concept-card').first();
  await card.locator('.refine-btn').click();
  await answer(page, 'layer', 'Relu_3', '/g/Relu_3_output_0', 90_000);
  const subs = card.locator('.refinement .subconcept');
  await subs.first().waitFor({ state: 'visible', timeout: 180_000 });
  const refined = path.join(runDir, 'refined');
  const child = fs.readdirSync(refined).find((n) => !n.startsWith('.') && fs.existsSync(path.join(refined, n, 'results.json')));
  if (!child) throw new Error(`no refined run in ${refined}`);
  const bundle = JSON.parse(fs.readFileSync(path.join(refined, child, 'results.json'), 'utf8')) as {
    concepts: unknown[];
    layer: { name: string };
    parent?: { concept: number };
  };
  if (bundle.layer.name !== '/g/Relu_3_output_0') throw new Error(`refined at ${bundle.layer.name}`);
  if (String(bundle.parent?.concept) !== (await card.getAttribute('data-concept'))) throw new Error("the refined run is not of the card's concept");
  const shown = await subs.count();
  if (shown !== Math.min(8, bundle.concepts.length)) throw new Error(`${shown} sub-concepts in the card for ${bundle.concepts.length}`);
  // The pictures were just inserted (lazily loaded): bring each unfinished one into view and wait until
  // every one has loaded or failed before judging.
  const crops = card.locator('img.sub-crop');
  const loadEnd = Date.now() + 15_000;
  const loading = () =>
    crops.evaluateAll((imgs) => {
      const pending = imgs.find((i) => !(i as unknown as { complete: boolean }).complete);
      pending?.scrollIntoView({ block: 'center' });
      return pending !== undefined;
    });
  while (Date.now() < loadEnd && (await loading())) await page.waitForTimeout(100);
  const broken = await crops.evaluateAll((imgs) => imgs.filter((i) => !((i as unknown as { naturalWidth: number }).naturalWidth > 0)).length);
  if (broken > 0) throw new Error(`${broken} sub-concept crops did not load`);
  if (screenshotDir) await card.screenshot({ path: path.join(screenshotDir, 'ui-refined-card.png') });
  await card.locator('.open-child').click();
  const tab = page.locator('.tabs-container .tab .label-name', { hasText: 'Relu_3_output_0' }).first();
  await tab.waitFor({ state: 'visible', timeout: 60_000 });
  await conceptCards(page, bundle.concepts.length, 60_000).then(({ count }) => {
    if (count !== bundle.concepts.length) throw new Error(`the refined run's panel shows ${count} cards for ${bundle.concepts.length} sub-concepts`);
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
