/**
 * Cases for what tells a new user what to trust: concept names and ranks, the two map scales, the
 * fidelity curves, the predictions, the layout beside the code, colour contrast, and screenshots of
 * the clip-art run. Real Chromium, stand-in host and real bundles (see cases.ts).
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { pathToFileURL } from 'url';
import { writeReport } from '../../src/craft/bundle/report';
import type { ResultsBundle } from '../../src/protocol';
import { brokenImages, js, posted } from './browser-harness';
import { withPage } from './with-page';
import type { Case } from './cases';
import { asOldBundle } from './fixture';

/** Polls the page's posted messages from here: a page-side wait would evaluate a string, which its CSP forbids. */
async function postedAtLeast(page: Page, n: number, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while ((await posted(page)).length < n) {
    if (Date.now() > end) throw new Error(`the page posted fewer than ${n} messages within ${ms} ms: ${JSON.stringify(await posted(page))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const send = (page: Page, data: unknown) => js(page, `window.dispatchEvent(new MessageEvent('message', { data: ${JSON.stringify(data)} }))`);
const text = (page: Page, selector: string) => js<string | null>(page, `document.querySelector(${JSON.stringify(selector)})?.textContent ?? null`);

/** Everywhere the page names concept `c`: the chart, its card, the map toggles, the sort menu, the large view's bars. */
async function namesShown(page: Page, c: number): Promise<Record<string, string | null>> {
  return js(
    page,
    `(() => {
      const q = (s) => document.querySelector(s);
      const card = q('.concept-card[data-concept="${c}"]');
      const check = q('.concept-checks [data-concept="${c}"]');
      return {
        chart: q('.section-importance .bar-row[data-concept="${c}"] .bar-name')?.textContent ?? null,
        chartLabel: q('.section-importance .bar-row[data-concept="${c}"]')?.getAttribute('aria-label') ?? null,
        card: card?.querySelector('h3')?.textContent ?? null,
        cardName: card ? (document.getElementById(card.getAttribute('aria-labelledby'))?.textContent ?? null) : null,
        crop: card?.querySelector('.crops img')?.alt ?? null,
        toggle: check?.textContent.trim() ?? null,
        toggleLabel: (check?.querySelector('input') ?? check)?.getAttribute('aria-label') ?? null,
        sort: [...document.querySelectorAll('.list-toolbar select option')].find((o) => o.value === 'c${c}')?.textContent ?? null,
        viewer: q('.image-bars .bar-row[data-concept="${c}"] .bar-name')?.textContent ?? null,
      };
    })()`,
  );
}

function contrast(a: number[], b: number[]): number {
  const lum = (rgb: number[]) => {
    const [r, g, bl] = rgb.map((v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

function rgb(css: string): number[] {
  const m = /^rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)$/.exec(css);
  assert.ok(m, `a colour: ${css}`);
  assert.ok(m[4] === undefined || Number(m[4]) === 1, `an opaque colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export const trustCases: Case[] = [
  {
    name: 'names: "Concept #rank" everywhere, never the index; a keyboard rename posts renameConcept and a names message updates every place',
    async run(ctx) {
      const b = ctx.clipart.bundle;
      // A concept whose rank and index differ, so a page showing the index would fail.
      const pos = b.ranking.findIndex((c, k) => c !== k);
      assert.ok(pos >= 0, 'the run ranks concepts out of index order');
      const c = b.ranking[pos];
      const rank = `#${pos + 1}`;
      await withPage(ctx, { bundle: 'clipart' }, async ({ page }) => {
        const before = await namesShown(page, c);
        for (const [where, value] of Object.entries(before)) assert.ok(value?.includes(`Concept ${rank}`), `${where} shows "Concept ${rank}": ${value}`);
        const labels = await js<string[]>(page, `[...document.querySelectorAll('.concept-name, .bar-name, .concept-card h3')].map((e) => e.textContent)`);
        for (const l of labels) assert.match(l, /^Concept #\d+$/, 'unnamed concepts are named by rank');
        const visible = await js<string>(page, `document.getElementById('craft-root').innerText`);
        assert.doesNotMatch(visible, /Concept \d/, 'no concept index shown as "Concept N"');

        // Keyboard: from the card, Tab reaches the pencil first; Enter opens the field, typing and Enter save.
        const nameBtn = page.locator(`.concept-card[data-concept="${c}"] .name-btn`);
        assert.equal(await nameBtn.getAttribute('aria-label'), `Name Concept ${rank}…`);
        await page.locator(`.concept-card[data-concept="${c}"]`).focus();
        await page.keyboard.press('Tab');
        assert.equal(
          await js(page, `document.activeElement.matches('.concept-card[data-concept="${c}"] .name-btn')`),
          true,
          'Tab from the card reaches its name button',
        );
        await page.keyboard.press('Enter');
        assert.equal(await js(page, `document.activeElement.classList.contains('name-input')`), true, 'Enter opens the name field, focused');
        await page.keyboard.type('Corner pips');
        await page.keyboard.press('Escape');
        assert.equal(await js(page, `document.activeElement.classList.contains('name-btn')`), true, 'Escape returns to the button');
        assert.equal(await text(page, `.concept-card[data-concept="${c}"] h3`), `Concept ${rank}`, 'Escape cancels');
        assert.deepEqual(await posted(page), [{ type: 'ready' }], 'nothing posted on Escape');

        await page.keyboard.press('Space');
        await page.keyboard.type('  Corner   pips ');
        await page.keyboard.press('Enter');
        await page.waitForFunction('window.__posted.length >= 2', undefined, { timeout: 5000 });
        assert.deepEqual((await posted(page))[1], { type: 'renameConcept', concept: c, name: 'Corner pips' }, 'the cleaned name is posted');
        assert.equal(await js(page, `document.activeElement.classList.contains('name-btn')`), true, 'focus back on the button');

        // The host answers with every name of the run: each place updates.
        await send(page, { type: 'names', names: { [c]: 'Corner pips' } });
        const after = await namesShown(page, c);
        for (const [where, value] of Object.entries(after))
          assert.ok(value?.includes('Corner pips') && !value.includes('Concept #'), `${where} shows the name: ${value}`);
        assert.equal(await text(page, `.concept-card[data-concept="${c}"] .rank`), rank, 'the rank stays beside the name');
        assert.equal(await js(page, `document.querySelector('.concept-card[data-concept="${c}"] .rank').hidden`), false);
        assert.equal(await nameBtn.getAttribute('aria-label'), 'Rename Corner pips…');
        // The large view's bars are redrawn for each image: a new image shows the name too.
        await page.locator('.thumb[data-index="5"]').click();
        assert.equal(await text(page, `.image-bars .bar-row[data-concept="${c}"] .bar-name`), 'Corner pips');

        // An empty name removes it.
        await nameBtn.focus();
        await page.keyboard.press('Enter');
        assert.equal(await js(page, `document.activeElement.value`), 'Corner pips', 'the field starts from the name');
        await page.keyboard.press('Control+A');
        await page.keyboard.press('Backspace');
        await page.keyboard.press('Enter');
        await page.waitForFunction('window.__posted.length >= 3', undefined, { timeout: 5000 });
        assert.deepEqual((await posted(page))[2], { type: 'renameConcept', concept: c, name: '' });
        await send(page, { type: 'names', names: {} });
        assert.equal((await namesShown(page, c)).card, `Concept ${rank}`);
        assert.equal(await js(page, `document.querySelector('.concept-card[data-concept="${c}"] .rank').hidden`), true);
      });
      // Names sent with 'show' are there from the start; junk names are dropped.
      const d = b.ranking[pos + 1];
      await withPage(ctx, { bundle: 'clipart', names: { [c]: 'Corner pips', x: 'junk', [d]: 'bad\u0007name' } }, async ({ page }) => {
        assert.equal((await namesShown(page, c)).chart, 'Corner pips');
        assert.equal((await namesShown(page, d)).chart, `Concept #${pos + 2}`);
      });
    },
  },
  {
    name: 'the header and the chart explain themselves on hover and to screen readers (importance, NMF error and its iteration cap, split check, provider, timings)',
    async run(ctx) {
      const b = ctx.clipart.bundle;
      await withPage(ctx, { bundle: 'clipart' }, async ({ page }) => {
        const facts = await js<{ name: string; title: string; sr: string }[]>(
          page,
          `[...document.querySelectorAll('.facts .fact')].map((f) => ({ name: f.querySelector('dt').textContent, title: f.getAttribute('title') ?? '', sr: f.querySelector('dd .sr-only')?.textContent.trim() ?? '' }))`,
        );
        assert.deepEqual(
          facts.map((f) => f.name),
          ['Model', 'Layer', 'Class', 'Images', 'Concepts', 'Provider', 'NMF error', 'Split check', 'Time'],
        );
        for (const f of facts) {
          assert.ok(f.title.length > 30, `${f.name} has a tooltip: ${f.title}`);
          assert.equal(f.sr, f.title, `${f.name}: the same explanation for screen readers`);
        }
        const nmf = facts.find((f) => f.name === 'NMF error')!;
        assert.ok(nmf.title.includes('‖A − UW‖F / ‖A‖F'), nmf.title);
        if (!b.nmf.converged && b.nmf.iterations >= b.settings.nmf.maxIter)
          assert.ok(nmf.title.includes('The reference stops at 200 iterations too; this is normal, not a failure.'), nmf.title);
        assert.match(facts.find((f) => f.name === 'Split check')!.title, /h\(g\(x\)\).*f\(x\)/);
        assert.match(facts.find((f) => f.name === 'Provider')!.title, /^Where ONNX Runtime ran the model: the CPU, or a GPU/);
        const stages = await js<{ title: string; sr: string }[]>(
          page,
          `[...document.querySelectorAll('.timings > span[title]')].map((s) => ({ title: s.title, sr: s.querySelector('.sr-only')?.textContent ?? '' }))`,
        );
        assert.equal(stages.length, Object.keys(b.timings).length - 1, 'every stage timing has a tooltip');
        for (const st of stages) assert.ok(st.sr.length > 5 && st.title.includes(st.sr.replace(/^ \(|\)$/g, '')), `${st.title} / ${st.sr}`);
        // The chart is described by the sentence on Sobol total order, and each bar says what it shows.
        const described = await js<string>(
          page,
          `document.getElementById(document.querySelector('.section-importance .bars').getAttribute('aria-describedby')).textContent`,
        );
        assert.ok(
          described.includes(
            "the share of the class score's variance this concept accounts for, alone or with others, when concepts are switched on and off at random",
          ),
          described,
        );
        const bar = await js<string>(page, `document.querySelector('.section-importance .bar-row').title`);
        assert.match(bar, /^Concept #1: [\d.]+% of the total importance \(Sobol total order [\d.e-]+\)$/);
      });
    },
  },
  {
    name: 'map scale: image scale by default, crop scale switches every overlay to the cropMaps strip, explained in one line',
    async run(ctx) {
      const b = ctx.clipart.bundle;
      await withPage(ctx, { bundle: 'clipart' }, async ({ page }) => {
        const backgrounds = () => js<string[]>(page, `[...document.querySelectorAll('.overlay')].map((o) => getComputedStyle(o).backgroundImage)`);
        const stage = page.locator('.stage');
        await page.locator('.overlay-mode').selectOption('all');
        for (const bg of await backgrounds()) assert.ok(bg.includes(`/${b.images[0].maps}`), `image scale: ${bg}`);
        assert.match((await text(page, '.scale-help')) ?? '', /^Image scale: /);
        const imageScale = await stage.screenshot();
        await page.getByRole('radio', { name: 'Crop scale' }).check();
        for (const bg of await backgrounds()) assert.ok(bg.includes(`/${b.images[0].cropMaps}`), `crop scale: ${bg}`);
        assert.match((await text(page, '.scale-help')) ?? '', /^Crop scale: /);
        assert.equal((await js<Record<string, unknown>>(page, 'window.__states[window.__states.length - 1]')).mapScale, 'crop');
        let changed = false;
        for (let k = 0; k < 20 && !changed; k++) {
          changed = !(await stage.screenshot()).equals(imageScale);
          if (!changed) await page.waitForTimeout(100);
        }
        assert.ok(changed, 'the large view changes');
        // Another image keeps the scale.
        await page.locator('.thumb[data-index="2"]').click();
        for (const bg of await backgrounds()) assert.ok(bg.includes(`/${b.images[2].cropMaps}`), `image 2, crop scale: ${bg}`);
        await page.getByRole('radio', { name: 'Image scale' }).check();
        for (const bg of await backgrounds()) assert.ok(bg.includes(`/${b.images[2].maps}`), `back to image scale: ${bg}`);
      });
    },
  },
  {
    name: 'fidelity: both curves and the random baseline, areas, a verdict and a table; absent (and the page whole) for an old bundle',
    async run(ctx) {
      const b = ctx.clipart.bundle;
      const f = b.fidelity!;
      assert.ok(f, 'the run has fidelity curves');
      await withPage(ctx, { bundle: 'clipart' }, async ({ page }) => {
        const panels = await js<{ kind: string; label: string; curves: Record<string, number> }[]>(
          page,
          `[...document.querySelectorAll('.fidelity-panel')].map((p) => ({ kind: p.dataset.kind, label: p.querySelector('svg').getAttribute('aria-label'), curves: Object.fromEntries([...p.querySelectorAll('polyline')].map((l) => [l.dataset.curve, l.getAttribute('points').trim().split(/\\s+/).length])) }))`,
        );
        assert.deepEqual(
          panels.map((p) => p.kind),
          ['deletion', 'insertion'],
        );
        for (const p of panels) {
          assert.deepEqual(p.curves, { random: f.deletion.length, ranked: f.deletion.length }, `${p.kind}: r + 1 points for the ranking and the baseline`);
          assert.match(p.label, /Area .* random orders /, `${p.kind}: the chart has a text alternative`);
        }
        const intro = (await text(page, '.section-fidelity .intro')) ?? '';
        assert.ok(
          intro.includes('removing the top concepts lowers the class score faster than removing random ones, and adding them back raises it faster'),
          intro,
        );
        const areas = await js<string[]>(page, `[...document.querySelectorAll('.fidelity-area')].map((e) => e.textContent)`);
        assert.ok(areas[0].includes(`Area ${num(f.deletionAuc)}`) && areas[0].includes(`random ${num(f.random.deletionAuc)}`), areas[0]);
        assert.ok(areas[1].includes(`Area ${num(f.insertionAuc)}`) && areas[1].includes(`random ${num(f.random.insertionAuc)}`), areas[1]);
        const rows = await js<string[][]>(
          page,
          `[...document.querySelectorAll('.fidelity-table tbody tr')].map((r) => [...r.children].map((c) => c.textContent))`,
        );
        assert.equal(rows.length, f.deletion.length, 'one table row per k');
        assert.deepEqual(rows[1], ['1', num(f.deletion[1]), num(f.random.deletion[1]), num(f.insertion[1]), num(f.random.insertion[1])]);
        // Each curve is drawn where its values say (y grows downward): the ranked one above the random
        // one exactly where its value is higher, and each point above the first where its value is.
        for (const kind of ['deletion', 'insertion'] as const) {
          const ys = (curve: string) =>
            js<number[]>(page, `[...document.querySelector('.fidelity-${kind} polyline[data-curve="${curve}"]').points].map((p) => p.y)`);
          const [ranked, random] = [await ys('ranked'), await ys('random')];
          const [vr, vb] = kind === 'deletion' ? [f.deletion, f.random.deletion] : [f.insertion, f.random.insertion];
          for (let k = 0; k < ranked.length; k++) {
            if (Math.abs(vr[k] - vb[k]) > 1e-6)
              assert.equal(Math.sign(ranked[k] - random[k]), -Math.sign(vr[k] - vb[k]), `${kind}, k = ${k}: ranked vs random`);
            if (k && Math.abs(vr[k] - vr[0]) > 1e-6) assert.equal(Math.sign(ranked[k] - ranked[0]), -Math.sign(vr[k] - vr[0]), `${kind}, k = ${k}: vs k = 0`);
          }
        }
      });
      ctx.host.addBundle('old', asOldBundle(b), ctx.clipart.runDir);
      await withPage(ctx, { bundle: 'old' }, async ({ page }) => {
        assert.equal(await js(page, `document.querySelectorAll('.section-fidelity, .fidelity').length`), 0, 'no fidelity section');
        assert.equal(
          await js(
            page,
            `document.querySelectorAll('input[name="map-scale"], .regions, .agreement, .thumb-pred, .detail-pred, .browser-notice, .other-only').length`,
          ),
          0,
          'nothing of what the old run lacks',
        );
        assert.equal(await js(page, `document.querySelectorAll('.concept-card').length`), b.concepts.length);
        assert.ok((await text(page, '.list-count'))?.startsWith(`${b.images.length} images`));
        assert.deepEqual(await brokenImages(page), []);
      });
    },
  },
  {
    name: 'predictions: on every thumbnail and in the large view; sort by class score; filter and notice for the images predicted as another class',
    async run(ctx) {
      const b = ctx.clipart.bundle;
      const others = b.images.flatMap((im, i) => (im.predicted !== b.class.index ? [i] : []));
      assert.ok(others.length >= 0.1 * b.images.length, 'the clip-art run has a fair share of other predictions');
      const warning = b.warnings.find((w) => w.includes('predicted as another class'));
      assert.ok(warning);
      await withPage(ctx, { bundle: 'clipart' }, async ({ page }) => {
        const thumbs = await js<{ i: number; other: boolean; cls: string; prob: string }[]>(
          page,
          `[...document.querySelectorAll('.thumb')].map((t) => ({ i: Number(t.dataset.index), other: t.querySelector('.thumb-pred').classList.contains('pred-other'), cls: t.querySelector('.pred-class').textContent, prob: t.querySelector('.pred-prob').textContent }))`,
        );
        assert.equal(thumbs.length, b.images.length);
        for (const t of thumbs) {
          const im = b.images[t.i];
          assert.equal(t.other, others.includes(t.i), `thumbnail ${t.i} marked`);
          assert.equal(t.cls, b.labels![im.predicted!], `thumbnail ${t.i} names the predicted class`);
          assert.equal(t.prob, `${(im.classProbability! * 100).toFixed(1)}%`, `thumbnail ${t.i} probability`);
        }
        await page.locator(`.thumb[data-index="${others[0]}"]`).click();
        const detail = (await text(page, '.detail-pred')) ?? '';
        assert.ok(
          detail.includes(`Predicted as ${b.labels![b.images[others[0]].predicted!]}`) && detail.includes(`score ${num(b.images[others[0]].classScore!)}`),
          detail,
        );

        assert.equal(await text(page, '.browser-notice p'), warning, 'the notice at the top of the browser');
        assert.ok((await text(page, '.list-count'))?.includes(`${others.length} predicted as another class`));

        await page.locator('.list-toolbar select').selectOption('score-asc');
        const order = await js<number[]>(page, `[...document.querySelectorAll('.thumb')].map((t) => Number(t.dataset.index))`);
        const scores = order.map((i) => b.images[i].classScore!);
        assert.deepEqual(
          scores,
          [...scores].sort((x, y) => x - y),
          'lowest class score first',
        );
        await page.locator('.list-toolbar select').selectOption('score-desc');
        const desc = (await js<number[]>(page, `[...document.querySelectorAll('.thumb')].map((t) => Number(t.dataset.index))`)).map(
          (i) => b.images[i].classScore!,
        );
        assert.deepEqual(
          desc,
          [...desc].sort((x, y) => y - x),
          'highest class score first',
        );

        await page.locator('.other-only').click();
        assert.deepEqual(
          (await js<number[]>(page, `[...document.querySelectorAll('.thumb')].map((t) => Number(t.dataset.index))`)).sort((x, y) => x - y),
          others,
          'only those predicted as another class',
        );
        assert.equal(await text(page, '.list-count'), `${others.length} of ${b.images.length} images`);
        await page.locator('.other-only').click();
        assert.equal(await js(page, `document.querySelectorAll('.thumb').length`), b.images.length);
        await page.getByRole('button', { name: 'Show only these images' }).click();
        assert.equal(await js(page, `document.querySelectorAll('.thumb').length`), others.length, 'the notice button filters too');
      });
      // Without the engine's warning the page still computes it (≥ 10 %); below that, no notice.
      ctx.host.addBundle('no-warning', { ...b, warnings: [] }, ctx.clipart.runDir);
      await withPage(ctx, { bundle: 'no-warning' }, async ({ page }) => {
        assert.equal(
          await text(page, '.browser-notice p'),
          `${others.length} of ${b.images.length} images are predicted as another class: the concepts explain the class score on them too.`,
        );
      });
      const one: ResultsBundle = {
        ...b,
        warnings: [],
        images: b.images.map((im, i) => (i === others[0] || !others.includes(i) ? im : { ...im, predicted: b.class.index })),
      };
      ctx.host.addBundle('one-other', one, ctx.clipart.runDir);
      await withPage(ctx, { bundle: 'one-other' }, async ({ page }) => {
        assert.equal(await js(page, `document.querySelectorAll('.browser-notice').length`), 0, 'one image in 24: no notice');
        assert.equal(await js(page, `document.querySelectorAll('.thumb .pred-other').length`), 1, 'but its thumbnail says so');
      });
    },
  },
  {
    name: 'layout: at half width (640 px) the large view stays in the viewport while the grid scrolls; at 1280 px it is never taller than the viewport',
    async run(ctx) {
      const rect = (page: Page, selector: string) =>
        js<{ top: number; bottom: number; left: number; right: number; height: number }>(
          page,
          `(() => { const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect(); return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height }; })()`,
        );
      // Three times the clip-art images (72), so the grid is taller than the screen at both widths.
      const b = ctx.clipart.bundle;
      const images = [0, 1, 2].flatMap((k) => b.images.map((im) => ({ ...im, path: `${k}/${im.path}` })));
      ctx.host.addBundle('clipart-72', { ...b, images }, ctx.clipart.runDir);
      for (const width of [640, 1280]) {
        await withPage(ctx, { bundle: 'clipart-72', width, height: 800 }, async ({ page }) => {
          const vh = await js<number>(page, 'window.innerHeight');
          const detail = await rect(page, '.browser-detail');
          assert.ok(detail.height <= vh, `${width} px: the large view (${detail.height} px) fits the viewport (${vh} px)`);
          const list = await rect(page, '.browser-list');
          assert.ok(detail.right <= list.left, `${width} px: the large view beside the grid`);
          // Browse: scroll through the grid's rows; the picture stays on screen.
          const grid = await js<{ top: number; bottom: number }>(
            page,
            `(() => { const r = document.querySelector('.thumb-grid').getBoundingClientRect(); return { top: r.top + scrollY, bottom: r.bottom + scrollY }; })()`,
          );
          assert.ok(grid.bottom - grid.top > vh * 1.5, `${width} px: the grid is taller than the screen (${grid.bottom - grid.top} px)`);
          let moved = 0;
          // Down to the grid's last screenful (past it the page goes on to what follows the browser).
          for (let y = grid.top - 40; y <= grid.bottom - vh; y += vh / 3) {
            await js(page, `window.scrollTo(0, ${y})`);
            const stage = await rect(page, '.stage');
            assert.ok(
              stage.top >= 0 && stage.bottom <= vh,
              `${width} px, scrolled to ${Math.round(y)}: the picture (${Math.round(stage.top)}–${Math.round(stage.bottom)}) is in the viewport`,
            );
            moved++;
          }
          assert.ok(moved >= 3, `${width} px: scrolled through the grid in ${moved} steps`);
          // Keyboard browsing: the selected thumbnail and the picture are both on screen.
          await page.locator('.thumb[aria-selected="true"]').focus();
          for (let k = 0; k < 9; k++) await page.keyboard.press('ArrowDown');
          const selected = await rect(page, '.thumb[aria-selected="true"]');
          const stage = await rect(page, '.stage');
          assert.ok(selected.top >= 0 && selected.bottom <= vh, `${width} px: the selected thumbnail is on screen`);
          assert.ok(stage.top >= 0 && stage.bottom <= vh, `${width} px: so is the picture`);
        });
      }
    },
  },
  {
    name: 'contrast: every concept colour shown (chart bars, card borders, swatches) is ≥ 3:1 on the page and card backgrounds, in light, dark and high contrast',
    async run(ctx) {
      for (const theme of ['light', 'dark', 'high-contrast'] as const) {
        await withPage(ctx, { bundle: 'clipart', theme }, async ({ page }) => {
          const page_ = rgb(await js<string>(page, `getComputedStyle(document.body).backgroundColor`));
          const card = rgb(await js<string>(page, `getComputedStyle(document.querySelector('.concept-card')).backgroundColor`));
          const shown = await js<{ what: string; color: string }[]>(
            page,
            `[
              ...[...document.querySelectorAll('.section-importance .bar-fill')].map((e) => ({ what: 'bar ' + e.closest('.bar-row').dataset.concept, color: getComputedStyle(e).backgroundColor })),
              ...[...document.querySelectorAll('.concept-card')].map((e) => ({ what: 'card ' + e.dataset.concept, color: getComputedStyle(e).borderTopColor })),
              ...[...document.querySelectorAll('.swatch')].map((e) => ({ what: 'swatch', color: getComputedStyle(e).backgroundColor })),
            ]`,
          );
          assert.ok(shown.length >= 3 * ctx.clipart.bundle.concepts.length, `${shown.length} coloured elements`);
          const colors = new Set(ctx.clipart.bundle.concepts.map((c) => c.color.toLowerCase()));
          for (const s of shown) {
            const c = rgb(s.color);
            const hex = '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');
            assert.ok(colors.has(hex), `${theme}: ${s.what} is drawn in its concept colour (${hex})`);
            assert.ok(contrast(c, page_) >= 3, `${theme}: ${s.what} ${hex} on the page ${page_}: ${contrast(c, page_).toFixed(2)}:1`);
            assert.ok(contrast(c, card) >= 3, `${theme}: ${s.what} ${hex} on a card ${card}: ${contrast(c, card).toFixed(2)}:1`);
          }
        });
      }
    },
  },
  {
    name: 'screenshots: the clip-art run in light and dark at 1280 and 640 px, every picture loaded',
    async run(ctx) {
      for (const theme of ['light', 'dark'] as const) {
        for (const width of [1280, 640]) {
          await withPage(ctx, { bundle: 'clipart', theme, colorScheme: theme, width, height: 800 }, async ({ page }) => {
            assert.deepEqual(await brokenImages(page), [], 'broken images');
            const bg = await js<string>(page, `getComputedStyle(document.body).backgroundColor`);
            assert.equal(bg, theme === 'light' ? 'rgb(255, 255, 255)' : 'rgb(31, 31, 31)');
            // No horizontal scrolling beside the code.
            assert.ok(await js<boolean>(page, `document.documentElement.scrollWidth <= window.innerWidth`), `${width} px: nothing wider than the panel`);
            await page.screenshot({ path: path.join(ctx.artifacts, `clipart-${theme}-${width}.png`), fullPage: true });
            await js(page, `document.querySelector('.section-images').scrollIntoView()`);
            await page.screenshot({ path: path.join(ctx.artifacts, `clipart-${theme}-${width}-images.png`) });
          });
        }
      }
    },
  },
  {
    name: 'report: the clip-art run read-only, with the names from names.json, regions, both map scales and the fidelity curves',
    async run(ctx) {
      const b = ctx.clipart.bundle;
      const c = b.ranking[1];
      const namesFile = path.join(ctx.clipart.runDir, 'names.json');
      fs.writeFileSync(namesFile, JSON.stringify({ [c]: 'Red suits' }));
      const file = path.join(ctx.clipart.temp, 'named-report.html');
      try {
        await writeReport(ctx.clipart.runDir, file);
      } finally {
        fs.rmSync(namesFile, { force: true });
      }
      await withPage(ctx, { url: pathToFileURL(file).href }, async ({ page }) => {
        const shown = await namesShown(page, c);
        for (const [where, value] of Object.entries(shown)) assert.ok(value?.includes('Red suits'), `${where}: ${value}`);
        assert.equal(await js(page, `document.querySelectorAll('.name-btn, .name-input').length`), 0, 'read-only: no rename');
        assert.equal(await js(page, `document.querySelectorAll('.fidelity-panel').length`), 2);
        assert.ok((await js<number>(page, `document.querySelectorAll('.regions img').length`)) >= b.concepts.length, 'regions shown');
        assert.equal(await js(page, `[...document.images].every((i) => /^data:image\\/(png|webp);base64,/.test(i.src))`), true);
        assert.deepEqual(await brokenImages(page), []);
        await page.getByRole('radio', { name: 'Crop scale' }).check();
        assert.match(await js<string>(page, `getComputedStyle(document.querySelector('.overlay')).backgroundImage`), /^url\("data:image\/png;base64,/);
        assert.equal(
          await text(page, '.browser-notice p'),
          b.warnings.find((w) => w.includes('predicted as another class')),
        );
        await page.screenshot({ path: path.join(ctx.artifacts, 'report-clipart-light.png'), fullPage: true });
      });
      // A report made without the new pictures embedded still opens whole (no request its CSP would block).
      const html = fs.readFileSync(file, 'utf8');
      const block = /(<script type="application\/json" id="craft-report-data">)(.*?)(<\/script>)/s.exec(html);
      assert.ok(block, 'the report holds its data block');
      const data = JSON.parse(block[2]) as { files: Record<string, string> };
      for (const key of Object.keys(data.files)) if (key.startsWith('regions/') || key.startsWith('maps/crops-')) delete data.files[key];
      const stripped = path.join(ctx.clipart.temp, 'stripped-report.html');
      fs.writeFileSync(
        stripped,
        html.replace(block[0], () => block[1] + JSON.stringify(data).replace(/</g, '\\u003c') + block[3]),
      );
      await withPage(ctx, { url: pathToFileURL(stripped).href }, async ({ page }) => {
        assert.equal(await js(page, `document.querySelectorAll('.regions, input[name="map-scale"]').length`), 0);
        assert.deepEqual(await brokenImages(page), []);
      });
    },
  },
  {
    name: "what-if: opening it asks for the image's own reconstruction; a slider posts whatIf with the scales; the answer shows the change and the top classes; absent in the report",
    async run(ctx) {
      const b = ctx.clipart.bundle;
      const r = b.concepts.length;
      const top = b.ranking[0];
      await withPage(ctx, { bundle: 'clipart' }, async ({ page }) => {
        assert.equal(await js(page, `document.querySelectorAll('.whatif').length`), 1);
        assert.deepEqual(await posted(page), [{ type: 'ready' }], 'nothing is asked before the section is opened');
        await page.locator('.whatif > summary').click();
        await postedAtLeast(page, 2);
        const first = (await posted(page))[1] as unknown as { type: string; id: number; image: number; scales: number[] };
        assert.deepEqual({ ...first, id: 0 }, { type: 'whatIf', id: 0, image: 0, scales: new Array(r).fill(1) });
        const score = (logit: number, probability: number, index = b.class.index) => ({ index, label: b.labels?.[index], logit, probability });
        await send(page, {
          type: 'whatIfAnswer',
          id: first.id,
          answer: {
            image: 0,
            scales: first.scales,
            target: score(2.5, 0.9),
            top: [score(2.5, 0.9), score(0.1, 0.05, 0)],
            reconstruction: { target: score(2.5, 0.9), top: [] },
          },
        });
        assert.match((await text(page, '.whatif-result')) ?? '', /score 2\.50, probability 90\.0 ?% on this image.s reconstruction/);

        // Switch off the most important concept with the keyboard: its slider goes to 0.
        const input = page.locator(`.whatif-row[data-concept="${top}"] input[type="range"]`);
        await input.focus();
        await page.keyboard.press('Home');
        await postedAtLeast(page, 3);
        const second = (await posted(page))[2] as unknown as { id: number; scales: number[] };
        const expected = new Array(r).fill(1);
        expected[b.concepts.findIndex((c) => c.index === top)] = 0;
        assert.deepEqual(second.scales, expected);
        assert.match((await text(page, `.whatif-row[data-concept="${top}"] output`)) ?? '', /^off$/);
        await send(page, {
          type: 'whatIfAnswer',
          id: second.id,
          answer: {
            image: 0,
            scales: second.scales,
            target: score(0.4, 0.2),
            top: [score(1.2, 0.6, 0), score(0.4, 0.2)],
            reconstruction: { target: score(2.5, 0.9), top: [] },
          },
        });
        const shown = (await text(page, '.whatif-result')) ?? '';
        assert.match(shown, /score 2\.50 → 0\.400, probability 90\.0 ?% → 20\.0 ?%/);
        assert.match(shown, new RegExp(`${b.labels?.[0] ?? 'class 0'} 60\\.0 ?%`));
        await page.locator('.whatif').screenshot({ path: path.join(ctx.artifacts, 'whatif-light.png') });
        // An answer to an older question does not overwrite a newer one; an error is shown as text.
        await send(page, {
          type: 'whatIfAnswer',
          id: first.id,
          answer: { image: 0, scales: first.scales, target: score(9, 1), top: [], reconstruction: { target: score(9, 1), top: [] } },
        });
        assert.doesNotMatch((await text(page, '.whatif-result')) ?? '', /9\.00/);
        await page.getByRole('button', { name: 'Reset' }).click();
        await postedAtLeast(page, 4);
        const third = (await posted(page)).at(-1) as unknown as { id: number };
        await send(page, { type: 'whatIfAnswer', id: third.id, error: 'The what-if engine process stopped.' });
        assert.match((await text(page, '.whatif-result')) ?? '', /What-if is not available: The what-if engine process stopped\./);
      });
      const file = path.join(ctx.clipart.temp, 'whatif-report.html');
      await writeReport(ctx.clipart.runDir, file);
      await withPage(ctx, { url: pathToFileURL(file).href }, async ({ page }) => {
        assert.equal(await js(page, `document.querySelectorAll('.whatif').length`), 0, 'no what-if without a host');
      });
    },
  },
];

function num(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : x.toPrecision(3);
}
