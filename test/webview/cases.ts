/** The page's test cases, in real Chromium: the VS Code webview (stand-in host) and the HTML report. */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { pathToFileURL } from 'url';
import type { ResultsBundle } from '../../src/protocol';
import { brokenImages, js, posted } from './browser-harness';
import { withPage } from './with-page';
import { HOSTILE_HTML, HOSTILE_QUOTES, HOSTILE_SCRIPT, withManyConcepts, type Fixture } from './fixture';
import type { ClassSetFixture } from './class-set-cases';
import type { Host } from './host';
import type { RefinedFixture } from './refine-cases';

export interface Ctx {
  browser: Browser;
  host: Host;
  fixture: Fixture;
  /** The HTML report written from the fixture bundle. */
  reportFile: string;
  /** The clip-art run (host bundle 'clipart') and its report. */
  clipart: Fixture;
  clipartReport: string;
  /** A refined run of the fixture's most important concept (host bundle 'refined'). */
  refined: RefinedFixture;
  artifacts: string;
  log(line: string): void;
  /** A run over three classes (host set 'set'), for the class selector and shared concepts. */
  classSet?: ClassSetFixture;
}

export interface Case {
  name: string;
  run(ctx: Ctx): Promise<void>;
}

/** The page's number format: 3 significant digits, exponent form when tiny or huge. */
function num(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : x.toPrecision(3);
}

/** The page's share format (the spec: one decimal, never a misleading 0%). */
function expectedPercent(share: number): string {
  if (!(share > 0)) return '0%';
  return share * 100 < 0.1 ? '<0.1%' : `${(share * 100).toFixed(1)}%`;
}

const cardOrder = (page: Page) => js<number[]>(page, `[...document.querySelectorAll('.concept-card')].map((c) => Number(c.dataset.concept))`);
const selectedImage = (page: Page) => js<number>(page, `Number(document.querySelector('.thumb[aria-selected="true"]')?.dataset.index ?? -1)`);
const overlayHidden = (page: Page, c: number) =>
  js<boolean>(page, `getComputedStyle(document.querySelector('.overlay[data-concept="${c}"]')).display === 'none'`);
const checkboxChecked = (page: Page, c: number) =>
  js<boolean>(
    page,
    `(() => { const el = document.querySelector('.concept-checks [data-concept="${c}"]'); return el.querySelector('input')?.checked ?? el.checked; })()`,
  );
const lastState = (page: Page) => js<Record<string, unknown>>(page, 'window.__states[window.__states.length - 1]');
/** Concepts whose overlay is drawn on the large view, ascending. */
const drawn = (page: Page) =>
  js<number[]>(
    page,
    `[...document.querySelectorAll('.overlay')].filter((o) => getComputedStyle(o).display !== 'none').map((o) => Number(o.dataset.concept)).sort((a, b) => a - b)`,
  );

/** An image's own top 3 concepts (positive importances, largest first, ties by index): the page's default overlay. */
function topOf(importances: number[]): number[] {
  return importances
    .map((v, i) => ({ v, i }))
    .filter((x) => x.v > 0)
    .sort((a, b) => b.v - a.v || a.i - b.i)
    .slice(0, 3)
    .map((x) => x.i);
}

async function waitPosted(page: Page, count: number): Promise<{ type: string; image?: number }[]> {
  await page.waitForFunction(`window.__posted.length >= ${count}`, undefined, { timeout: 5000 });
  return posted(page);
}

function firstCrop(b: ResultsBundle, rank = 0, j = 0) {
  const c = b.concepts.find((k) => k.index === b.ranking[rank]);
  assert.ok(c && c.crops[j], 'the fixture has crops');
  return c.crops[j];
}

export const webviewCases: Case[] = [
  {
    name: 'renders header, chart and concept cards in importance order, toolkit components in use',
    async run(ctx) {
      const b = ctx.fixture.bundle;
      await withPage(ctx, {}, async ({ page }) => {
        assert.deepEqual(await cardOrder(page), b.ranking, 'cards follow results.json ranking');
        const rows = await js<{ concept: number; share: string; text: string; width: number }[]>(
          page,
          `[...document.querySelectorAll('.section-importance .bar-row')].map((r) => ({ concept: Number(r.dataset.concept), share: r.querySelector('.bar-share').textContent, text: r.getAttribute('aria-label'), width: r.querySelector('.bar-fill').getBoundingClientRect().width / r.querySelector('.bar-track').clientWidth }))`,
        );
        assert.deepEqual(
          rows.map((r) => r.concept),
          b.ranking,
          'chart rows sorted by importance',
        );
        for (const r of rows) {
          const c = b.concepts.find((k) => k.index === r.concept)!;
          assert.equal(r.share, expectedPercent(c.share), `share of concept ${c.index}`);
          assert.match(r.text, new RegExp(`^Concept #${c.rank + 1}: `), 'each bar has an accessible text naming the concept by its rank');
          assert.ok(
            Math.abs(r.width - c.share) < 0.02 || (c.share < 0.01 && r.width < 0.02),
            `bar ${c.index} is ${r.width} of the track for a share of ${c.share}`,
          );
        }
        const header = await js<string>(page, `document.querySelector('.run-header').textContent`);
        for (const text of ['fmnist_cnn.onnx', '/g/MaxPool_1_output_0', 'Ankle boot', 'CPU', `${b.images.length}`, 'NMF error', 'activations']) {
          assert.ok(header.includes(text), `header shows ${text}`);
        }
        assert.equal(await js(page, `document.documentElement.dataset.components`), 'toolkit');
        assert.ok((await js<number>(page, `document.querySelectorAll('vscode-checkbox').length`)) >= b.concepts.length);
        const first = await js<string>(page, `document.querySelector('.concept-card .crop img').alt`);
        const crop = firstCrop(b);
        assert.equal(first, `Concept #1, crop 1 from ${b.images[crop.image].path}, crop coefficient ${num(crop.coefficient)}`);
      });
    },
  },
  {
    name: 'stale results: the header says when the model file changed or is gone since the run, and nothing when it is unchanged',
    async run(ctx) {
      const b = ctx.fixture.bundle;
      const notice = (page: Page) =>
        js<{ role: string; text: string } | null>(
          page,
          `(() => { const n = document.querySelector('.run-header .stale'); return n && { role: n.getAttribute('role'), text: n.textContent }; })()`,
        );
      await withPage(ctx, {}, async ({ page }) => assert.equal(await notice(page), null, 'an unchanged model: no notice'));
      await withPage(ctx, { stale: 'changed' }, async ({ page }) => {
        const n = await notice(page);
        assert.equal(n?.role, 'alert');
        assert.match(
          n?.text ?? '',
          /^Stale results: the model has changed since this run\. fmnist_cnn\.onnx no longer holds the model these concepts were found in\. Run the explanation again/,
        );
        assert.ok(
          await js<boolean>(
            page,
            `document.querySelector('.run-header .stale').compareDocumentPosition(document.querySelector('.run-header .facts')) === Node.DOCUMENT_POSITION_FOLLOWING`,
          ),
          'above the facts',
        );
        await page.locator('.run-header').screenshot({ path: path.join(ctx.artifacts, 'stale-header.png') });
      });
      await withPage(ctx, { stale: 'missing' }, async ({ page }) => {
        assert.equal(
          (await notice(page))?.text,
          `The model file is gone. ${b.model.path} cannot be read any more, so these results cannot be checked against it.`,
        );
      });
    },
  },
  {
    name: 'every image loads under the strict CSP (thumbnails, crops, large view, map strips)',
    async run(ctx) {
      await withPage(ctx, {}, async ({ page }) => {
        const count = await js<number>(page, 'document.images.length');
        assert.ok(count > ctx.fixture.bundle.images.length, `${count} images on the page`);
        assert.deepEqual(await brokenImages(page), []);
        const maps = await js<{ name: string; status: number }[]>(
          page,
          `performance.getEntriesByType('resource').filter((e) => e.name.includes('/run/maps/')).map((e) => ({ name: e.name, status: e.responseStatus }))`,
        );
        assert.ok(maps.length >= 1, 'the map strip of the selected image was fetched');
        for (const m of maps) assert.equal(m.status, 200, m.name);
        const bg = await js<string>(page, `getComputedStyle(document.querySelector('.overlay')).backgroundImage`);
        assert.match(bg, /\/run\/maps\/\d+\.png/);
      });
    },
  },
  {
    name: 'clicking the first crop of the top concept posts openImage for its source image',
    async run(ctx) {
      const crop = firstCrop(ctx.fixture.bundle);
      await withPage(ctx, {}, async ({ page }) => {
        assert.deepEqual(await posted(page), [{ type: 'ready' }]);
        await page.locator('.concept-card').first().locator('.crop').first().click();
        const msgs = await waitPosted(page, 2);
        assert.deepEqual(msgs[1], { type: 'openImage', image: crop.image });
        assert.equal(await selectedImage(page), crop.image, 'the browser shows the image too');
        assert.equal(await js(page, `document.querySelector('.crop-box').hidden`), false, 'the crop is outlined');
      });
    },
  },
  {
    name: 'keyboard: Enter and Space on a focused crop post openImage',
    async run(ctx) {
      const b = ctx.fixture.bundle;
      await withPage(ctx, {}, async ({ page }) => {
        const crops = page.locator('.concept-card').first().locator('.crop');
        await crops.nth(0).focus();
        await page.keyboard.press('Enter');
        let msgs = await waitPosted(page, 2);
        assert.deepEqual(msgs[1], { type: 'openImage', image: firstCrop(b, 0, 0).image });
        await page.keyboard.press('Tab');
        assert.equal(
          await js(page, `document.activeElement === document.querySelectorAll('.concept-card')[0].querySelectorAll('.crop')[1]`),
          true,
          'Tab reaches the next crop',
        );
        await page.keyboard.press('Space');
        msgs = await waitPosted(page, 3);
        assert.deepEqual(msgs[2], { type: 'openImage', image: firstCrop(b, 0, 1).image });
        const outline = await js<string>(page, `getComputedStyle(document.activeElement).outlineStyle`);
        assert.notEqual(outline, 'none', 'focus is visible');
      });
    },
  },
  {
    name: 'hostile file names are shown as text and never become markup',
    async run(ctx) {
      const b = ctx.fixture.bundle;
      await withPage(ctx, {}, async ({ page, dialogs }) => {
        const paths = await js<string[]>(page, `[...document.querySelectorAll('.thumb-path')].map((e) => e.textContent)`);
        for (const name of [HOSTILE_HTML, HOSTILE_QUOTES, HOSTILE_SCRIPT]) assert.ok(paths.includes(name), `${name} listed as text`);
        const hostile = b.images.findIndex((im) => im.path === HOSTILE_HTML);
        await page.locator(`.thumb[data-index="${hostile}"]`).click();
        assert.equal(await js(page, `document.querySelector('.detail-path').textContent`), HOSTILE_HTML);
        assert.equal(await js(page, `document.querySelectorAll('img[src="x"], [onerror], b').length`), 0, 'no element made from a file name');
        await page.waitForTimeout(200);
        assert.deepEqual(dialogs, []);
      });
    },
  },
  {
    name: "overlays: each image's own top 3 concepts by default; all, none, toggles (custom), opacity and solo",
    async run(ctx) {
      const b = ctx.fixture.bundle;
      await withPage(ctx, {}, async ({ page }) => {
        const stage = page.locator('.stage');
        // The default: the selected image's three most important concepts, by its own importances.
        for (const i of [0, 4]) {
          await page.locator(`.thumb[data-index="${i}"]`).click();
          const top = topOf(b.images[i].importances);
          assert.ok(top.length > 0 && top.length <= 3, `image ${i} has a top`);
          assert.deepEqual(
            await drawn(page),
            [...top].sort((x, y) => x - y),
            `image ${i}: its own top 3 concepts`,
          );
          for (const c of b.concepts) assert.equal(await checkboxChecked(page, c.index), top.includes(c.index), `image ${i}: toggle of concept ${c.index}`);
          // The toggles follow the image; that is not the user choosing concepts.
          assert.equal(await js(page, `document.querySelector('.overlay-mode').value`), 'top');
          assert.equal((await lastState(page)).overlay, 'top');
        }
        const withMaps = await stage.screenshot();

        await page.locator('.overlay-mode').selectOption('all');
        assert.deepEqual(
          await drawn(page),
          b.concepts.map((c) => c.index).sort((x, y) => x - y),
          'all',
        );
        assert.equal((await lastState(page)).overlay, 'all');
        assert.equal(await js(page, `document.querySelector('.overlay-mode').value`), 'all');
        await page.locator('.overlay-mode').selectOption('none');
        assert.deepEqual(await drawn(page), [], 'none');
        assert.equal((await lastState(page)).overlay, 'none');
        const without = await stage.screenshot();
        assert.ok(!withMaps.equals(without), 'the maps change the pixels of the large view');

        // A toggle turns what is drawn into a custom choice.
        await page.locator('.overlay-mode').selectOption('top');
        const top4 = topOf(b.images[4].importances);
        await page.locator(`.concept-checks [data-concept="${top4[0]}"]`).click();
        assert.equal(await overlayHidden(page, top4[0]), true, 'unchecking hides the overlay');
        assert.equal(await checkboxChecked(page, top4[0]), false);
        assert.equal(await js(page, `document.querySelector('.overlay-mode').value`), 'custom');
        assert.deepEqual(
          await drawn(page),
          top4.slice(1).sort((x, y) => x - y),
          'the rest of the top stays',
        );
        assert.equal((await lastState(page)).overlay, 'custom');
        await page.locator(`.concept-checks [data-concept="${top4[0]}"]`).click();
        assert.equal(await overlayHidden(page, top4[0]), false, 'checking shows it again');
        // Custom stays the same from image to image.
        await page.locator('.thumb[data-index="0"]').click();
        assert.deepEqual(
          await drawn(page),
          [...top4].sort((x, y) => x - y),
        );

        const opacity = () => js<string>(page, `getComputedStyle(document.querySelector('.overlays')).opacity`);
        assert.equal(await opacity(), '0.7');
        await page.locator('.opacity-slider').focus();
        await page.keyboard.press('ArrowLeft');
        await page.keyboard.press('ArrowLeft');
        assert.equal(await opacity(), '0.6', 'two steps of 5%');
        assert.equal(await js(page, `document.querySelector('.slider-value').textContent`), '60%');
        assert.equal((await lastState(page)).opacity, 0.6);

        await page.locator(`.concept-card[data-concept="${b.ranking[1]}"]`).getByRole('button', { name: 'Show only this concept' }).click();
        for (const c of b.concepts) assert.equal(await overlayHidden(page, c.index), c.index !== b.ranking[1], `solo: concept ${c.index}`);
        assert.equal(await checkboxChecked(page, b.ranking[0]), false);
      });
    },
  },
  {
    name: 'state is saved with setState and restored after a reload',
    async run(ctx) {
      const b = ctx.fixture.bundle;
      const hide = b.ranking[1];
      await withPage(ctx, {}, async ({ page }) => {
        await page.locator('.thumb[data-index="3"]').click();
        await page.locator('.overlay-mode').selectOption('all');
        await page.locator(`.concept-checks [data-concept="${hide}"]`).click();
        await page.locator('.opacity-slider').focus();
        for (let k = 0; k < 4; k++) await page.keyboard.press('ArrowLeft');
        await page.getByRole('radio', { name: 'Crop scale' }).check();
        // Let the crop-scale strip load: a reload would abort it (a failed request).
        await page.waitForLoadState('networkidle');
        assert.deepEqual(await lastState(page), {
          runDir: ctx.fixture.runDir,
          selectedImage: 3,
          opacity: 0.5,
          overlay: 'custom',
          hiddenConcepts: [hide],
          mapScale: 'crop',
        });
        await page.reload();
        await page.waitForSelector('.concept-card');
        assert.equal(await selectedImage(page), 3);
        assert.equal(await js(page, `document.querySelector('.detail-path').textContent`), b.images[3].path);
        assert.equal(await overlayHidden(page, hide), true);
        assert.equal(await checkboxChecked(page, hide), false);
        assert.equal(await js(page, `getComputedStyle(document.querySelector('.overlays')).opacity`), '0.5');
        assert.equal(await js(page, `document.querySelector('.opacity-slider').value`), '0.5');
        assert.equal(await js(page, `document.querySelector('.overlay-mode').value`), 'custom');
        assert.equal(await js(page, `document.querySelector('input[name="map-scale"][value="crop"]').checked`), true, 'the map scale is restored');
        assert.match(await js<string>(page, `getComputedStyle(document.querySelector('.overlay')).backgroundImage`), /\/run\/maps\/crops-3\.png/);
        assert.deepEqual(await posted(page), [{ type: 'ready' }], 'the reloaded page asked for the run again');
      });
    },
  },
  {
    name: 'image grid: arrow keys move the selection, Enter opens the image, export buttons post their actions',
    async run(ctx) {
      const b = ctx.fixture.bundle;
      await withPage(ctx, {}, async ({ page }) => {
        await page.locator('.thumb[aria-selected="true"]').focus();
        await page.keyboard.press('ArrowRight');
        assert.equal(await selectedImage(page), 1);
        assert.equal(await js(page, `document.activeElement.dataset.index`), '1', 'focus follows');
        await page.keyboard.press('End');
        assert.equal(await selectedImage(page), b.images.length - 1);
        await page.keyboard.press('Home');
        await page.keyboard.press('ArrowDown');
        const cols = await js<number>(page, `getComputedStyle(document.querySelector('.thumb-grid')).gridTemplateColumns.split(' ').length`);
        assert.equal(await selectedImage(page), Math.min(cols, b.images.length - 1), 'ArrowDown moves one row');
        await page.keyboard.press('Enter');
        let msgs = await waitPosted(page, 2);
        assert.deepEqual(msgs[1], { type: 'openImage', image: await selectedImage(page) });
        assert.equal(await js(page, `document.querySelectorAll('.thumb[tabindex="0"]').length`), 1, 'one tab stop in the grid');

        await page.getByRole('button', { name: 'Open results folder' }).click();
        await page.getByRole('button', { name: 'Save HTML report' }).click();
        msgs = await waitPosted(page, 4);
        assert.deepEqual(msgs.slice(2), [{ type: 'openFolder' }, { type: 'exportHtml' }]);

        await page.locator('.list-toolbar input').fill('boot');
        assert.equal(await js(page, `document.querySelectorAll('.thumb').length`), 1, 'filter by path');
      });
    },
  },
  {
    name: "host messages: another run's 'show' re-renders with fresh state, 'error' is shown as text, junk is ignored",
    async run(ctx) {
      const b = ctx.fixture.bundle;
      await withPage(ctx, {}, async ({ page }) => {
        await page.locator('.thumb[data-index="2"]').click();
        assert.equal(await selectedImage(page), 2);
        // The same run again (e.g. the panel was revealed): the selection stays.
        await js(page, `window.dispatchEvent(new MessageEvent('message', { data: { type: 'show', view: window.__view } }))`);
        assert.equal(await selectedImage(page), 2);
        // Another run: its own state.
        await js(page, `window.dispatchEvent(new MessageEvent('message', { data: { type: 'show', view: { ...window.__view, runDir: '/elsewhere' } } }))`);
        assert.equal(await selectedImage(page), 0);
        assert.equal((await lastState(page)).runDir, '/elsewhere');
        assert.deepEqual(await cardOrder(page), b.ranking);
        await js(page, `window.dispatchEvent(new MessageEvent('message', { data: { type: 'show', view: { bundle: null } } }))`);
        await js(page, `window.dispatchEvent(new MessageEvent('message', { data: 'nonsense' }))`);
        assert.deepEqual(await cardOrder(page), b.ranking, 'malformed messages change nothing');
        await js(page, `window.dispatchEvent(new MessageEvent('message', { data: { type: 'error', message: '<img src=x onerror=alert(3)> was deleted' } }))`);
        assert.equal(await js(page, `document.querySelector('[role="alert"] p').textContent`), '<img src=x onerror=alert(3)> was deleted');
        assert.equal(await js(page, `document.querySelectorAll('.concept-card, img[src="x"]').length`), 0);
      });
    },
  },
  {
    name: '500 images: the grid renders one page at a time with lazy thumbnails',
    async run(ctx) {
      const b = ctx.fixture.bundle;
      const images = Array.from({ length: 500 }, (_, i) => ({
        ...b.images[i % b.images.length],
        path: `big/${String(i).padStart(3, '0')}-${b.images[i % b.images.length].path}`,
      }));
      ctx.host.addBundle('big', { ...b, images });
      await withPage(ctx, { bundle: 'big' }, async ({ page }) => {
        const t0 = Date.now();
        assert.equal(await js(page, `document.querySelectorAll('.thumb').length`), 120);
        assert.equal(await js(page, `[...document.querySelectorAll('.thumb img')].every((i) => i.loading === 'lazy')`), true);
        const more = page.getByRole('button', { name: /^Show 120 more/ });
        await more.click();
        assert.equal(await js(page, `document.querySelectorAll('.thumb').length`), 240);
        await page.locator('.thumb').last().focus();
        await page.keyboard.press('End');
        await page.locator('.list-toolbar select').selectOption(`c${b.ranking[0]}`);
        const firstShown = await js<number>(page, `Number(document.querySelector('.thumb').dataset.index)`);
        const best = Math.max(...images.map((im) => im.importances[b.ranking[0]]));
        assert.equal(images[firstShown].importances[b.ranking[0]], best, 'sorted by the concept importance');
        const loaded = await js<number>(page, `[...document.querySelectorAll('.thumb img')].filter((i) => i.complete && i.naturalWidth > 0).length`);
        ctx.log(`  500 images: ${loaded} of 120 rendered thumbnails loaded so far, interactions took ${Date.now() - t0} ms`);
      });
    },
  },
  {
    name: '100 concepts: the cards render a page at a time; Show more (Enter, Space) and the chart reach the rest by keyboard',
    async run(ctx) {
      const b = withManyConcepts(ctx.fixture.bundle, 100);
      ctx.host.addBundle('many', b);
      const focusedCard = (page: Page) => js<string | undefined>(page, `document.activeElement.closest('.concept-card')?.dataset.concept`);
      await withPage(ctx, { bundle: 'many' }, async ({ page }) => {
        assert.deepEqual(await cardOrder(page), b.ranking.slice(0, 12), 'the first page, most important first');
        const more = page.locator('.section-concepts').getByRole('button', { name: /^Show \d+ more/ });
        const moreText = () => js<string>(page, `document.querySelector('.section-concepts .more-row > *').textContent`);
        assert.equal(await moreText(), 'Show 12 more (88 not shown)');

        await more.focus();
        await page.keyboard.press('Enter');
        assert.deepEqual(await cardOrder(page), b.ranking.slice(0, 24), 'Enter shows the next page');
        assert.equal(await focusedCard(page), String(b.ranking[12]), 'focus moves to the first new card');
        await page.keyboard.press('Tab');
        assert.equal(
          await js(page, `document.activeElement.matches('.concept-card[data-concept="${b.ranking[12]}"] .name-btn')`),
          true,
          'Tab goes on to its name button',
        );
        await page.keyboard.press('Tab');
        assert.equal(await js(page, `document.activeElement.matches('.concept-card[data-concept="${b.ranking[12]}"] .crop')`), true, 'then to its crops');

        await more.focus();
        await page.keyboard.press('Space');
        assert.equal((await cardOrder(page)).length, 36, 'Space shows the next page');
        assert.equal(await moreText(), 'Show 12 more (64 not shown)');

        // A concept beyond the pages shown, picked in the chart: its card is rendered and focused.
        const last = b.ranking[99];
        await page.locator(`.section-importance .bar-row[data-concept="${last}"]`).focus();
        await page.keyboard.press('Enter');
        assert.equal(await focusedCard(page), String(last));
        assert.deepEqual(await cardOrder(page), b.ranking, 'every card, in importance order');
        assert.equal(await more.isVisible(), false, 'nothing left to show');
        assert.deepEqual(await brokenImages(page), [], 'broken images');
      });
    },
  },
  {
    name: 'screenshots: light, dark and high-contrast themes',
    async run(ctx) {
      for (const theme of ['light', 'dark', 'high-contrast'] as const) {
        await withPage(ctx, { theme, colorScheme: theme === 'light' ? 'light' : 'dark' }, async ({ page }) => {
          assert.deepEqual(await brokenImages(page), [], 'broken images');
          await page.locator(`.concept-card`).first().locator('.crop').first().focus();
          const bg = await js<string>(page, `getComputedStyle(document.body).backgroundColor`);
          assert.equal(bg, theme === 'light' ? 'rgb(255, 255, 255)' : theme === 'dark' ? 'rgb(31, 31, 31)' : 'rgb(0, 0, 0)');
          await page.screenshot({ path: path.join(ctx.artifacts, `webview-${theme}.png`), fullPage: true });
        });
      }
      await withPage(ctx, { theme: 'dark', width: 520, height: 900 }, async ({ page }) => {
        assert.deepEqual(await brokenImages(page), [], 'broken images');
        await page.screenshot({ path: path.join(ctx.artifacts, 'webview-narrow-dark.png'), fullPage: true });
      });
    },
  },
  {
    name: 'without custom elements the component layer falls back to native controls',
    async run(ctx) {
      await withPage(ctx, { noCustomElements: true }, async ({ page }) => {
        assert.equal(await js(page, `document.documentElement.dataset.components`), 'native');
        assert.equal(await js(page, `document.querySelectorAll('vscode-button, vscode-checkbox').length`), 0);
        const top = topOf(ctx.fixture.bundle.images[0].importances)[0];
        await page.locator(`.concept-checks [data-concept="${top}"]`).click();
        assert.equal(await overlayHidden(page, top), true);
        await page.getByRole('button', { name: 'Save HTML report' }).click();
        const msgs = await waitPosted(page, 2);
        assert.deepEqual(msgs[1], { type: 'exportHtml' });
      });
    },
  },
];

export const reportCases: Case[] = [
  {
    name: 'report: renders from the embedded bundle, all images are data: URIs and load, no host actions',
    async run(ctx) {
      const b = ctx.fixture.bundle;
      const url = pathToFileURL(ctx.reportFile).href;
      await withPage(ctx, { url }, async ({ page }) => {
        assert.deepEqual(await cardOrder(page), b.ranking);
        assert.equal(await js(page, `document.documentElement.dataset.components`), 'toolkit');
        assert.equal(await js(page, `[...document.images].every((i) => /^data:image\\/(png|webp);base64,/.test(i.src))`), true);
        assert.deepEqual(await brokenImages(page), []);
        assert.match(await js<string>(page, `getComputedStyle(document.querySelector('.overlay')).backgroundImage`), /^url\("data:image\/png;base64,/);
        const text = await js<string>(page, `document.getElementById('craft-root').innerText`);
        for (const action of ['Open results folder', 'Save HTML report', 'Open image']) assert.ok(!text.includes(action), `no "${action}"`);
        const paths = await js<string[]>(page, `[...document.querySelectorAll('.thumb-path')].map((e) => e.textContent)`);
        for (const name of [HOSTILE_HTML, HOSTILE_QUOTES, HOSTILE_SCRIPT]) assert.ok(paths.includes(name), `${name} listed as text`);
        assert.equal(await js(page, `document.querySelectorAll('img[src="x"], [onerror], b').length`), 0);
        // A crop shows its image in the browser instead of opening an editor.
        const crop = firstCrop(b, 1, 0);
        await page.locator('.concept-card').nth(1).locator('.crop').first().click();
        assert.equal(await selectedImage(page), crop.image);
        assert.equal(await js(page, `typeof window.acquireVsCodeApi`), 'undefined');
        await page.screenshot({ path: path.join(ctx.artifacts, 'report-light.png'), fullPage: true });
      });
    },
  },
  {
    name: 'report: follows a dark colour scheme, and degrades to native controls without custom elements',
    async run(ctx) {
      const url = pathToFileURL(ctx.reportFile).href;
      await withPage(ctx, { url, colorScheme: 'dark' }, async ({ page }) => {
        assert.equal(await js(page, `getComputedStyle(document.body).backgroundColor`), 'rgb(31, 31, 31)');
        assert.deepEqual(await brokenImages(page), [], 'broken images');
        await page.screenshot({ path: path.join(ctx.artifacts, 'report-dark.png'), fullPage: true });
      });
      await withPage(ctx, { url, noCustomElements: true }, async ({ page }) => {
        assert.equal(await js(page, `document.documentElement.dataset.components`), 'native');
        assert.equal(await js(page, `document.querySelectorAll('.concept-checks input[type="checkbox"]').length`), ctx.fixture.bundle.concepts.length);
        const top = topOf(ctx.fixture.bundle.images[0].importances)[0];
        await page.locator(`.concept-checks [data-concept="${top}"]`).click();
        assert.equal(await overlayHidden(page, top), true);
        assert.deepEqual(await brokenImages(page), []);
        await page.screenshot({ path: path.join(ctx.artifacts, 'report-native.png'), fullPage: true });
      });
      assert.ok(fs.statSync(ctx.reportFile).size > 0);
    },
  },
];
