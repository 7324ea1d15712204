/**
 * The page of a run that is one class of a set (several classes explained together), in real Chromium:
 * the header's class selector and the "Shared concepts" view. The set is a real engine run: ankle
 * boots, sneakers, and a "Sandal" folder that holds other sneakers, so the model confuses Sneaker and
 * Sandal most (not the first pair), and the page must start with that pair.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { explainClasses } from '../../src/craft/classes/set';
import { DEFAULTS } from '../../src/craft/options';
import type { ClassSet, ResultsBundle } from '../../src/protocol';
import { brokenImages, js, posted, type Opened } from './browser-harness';
import { withPage } from './with-page';
import type { Case, Ctx } from './cases';
import { repoRoot } from './fixture';

export interface ClassSetFixture {
  temp: string;
  dir: string;
  index: ClassSet;
  runs: { dir: string; bundle: ResultsBundle }[];
  cleanup(): void;
}

/** 6 images per class: boots, sneakers, and other sneakers filed as sandals. */
export async function makeClassSetFixture(): Promise<ClassSetFixture> {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-webview-set-'));
  const images = path.join(temp, 'images');
  const take = (from: string, to: string, skip: number) => {
    fs.mkdirSync(path.join(images, to), { recursive: true });
    const src = path.join(repoRoot, 'sample', 'images', from);
    for (const f of fs
      .readdirSync(src)
      .sort()
      .slice(skip, skip + 6))
      fs.copyFileSync(path.join(src, f), path.join(images, to, f));
  };
  take('ankle_boot', 'ankle_boot', 0);
  take('sneaker', 'sneaker', 0);
  take('sneaker', 'Sandal', 6);
  const set = await explainClasses({
    ...DEFAULTS,
    model: path.join(repoRoot, 'sample', 'model', 'fmnist_cnn.onnx'),
    labelsFile: path.join(repoRoot, 'sample', 'model', 'labels.json'),
    images,
    classes: ['Ankle boot', 'Sneaker', 'Sandal'],
    layer: '/g/MaxPool_1_output_0',
    size: [28, 28],
    concepts: 4,
    patch: 14,
    designs: 4,
    provider: 'cpu',
    out: path.join(temp, 'results'),
  });
  return { temp, dir: set.dir, index: set.index, runs: set.runs, cleanup: () => fs.rmSync(temp, { recursive: true, force: true }) };
}

interface Row {
  a: number;
  b: number;
  cosine: number;
  shown: string;
  classes: string[];
}

const rows = (o: Opened) =>
  js<Row[]>(
    o.page,
    `[...document.querySelectorAll('.shared-pair')].map((r) => ({ a: Number(r.dataset.a), b: Number(r.dataset.b), cosine: Number(r.dataset.cosine), shown: r.querySelector('.cosine-value').textContent, classes: [...r.querySelectorAll('.shared-class')].map((c) => c.textContent) }))`,
  );

/** The matches of the pair (first, second) as the page should list them: the stored pair's, oriented. */
function expected(set: ClassSetFixture, first: number, second: number): { a: number; b: number; cosine: number }[] {
  const [a, b] = first < second ? [first, second] : [second, first];
  const pair = set.index.pairs.find((p) => p.a === a && p.b === b)!;
  return first < second ? pair.matches : pair.matches.map((m) => ({ a: m.b, b: m.a, cosine: m.cosine }));
}

function need(ctx: Ctx): ClassSetFixture {
  assert.ok(ctx.classSet, 'the class set fixture was built');
  return ctx.classSet;
}

export const classSetCases: Case[] = [
  {
    name: "class set: the header's selector lists the classes and switches the panel to another class in place",
    async run(ctx) {
      const set = need(ctx);
      await withPage(ctx, { set: 'set', position: 0 }, async (o) => {
        const { page } = o;
        const options = await js<string[]>(page, `[...document.querySelectorAll('#class-select option')].map((x) => x.textContent)`);
        assert.deepEqual(
          options,
          set.index.classes.map((c) => `${c.label} (${c.images} images)`),
        );
        assert.equal(await js(page, `document.querySelector('#class-select').value`), '0');
        assert.match(await js<string>(page, `document.querySelector('.run-header h1').textContent`), /^Ankle boot/);
        assert.equal(await js(page, `document.querySelector('label[for="class-select"]').textContent`), 'Class', 'the selector has a label');

        await page.selectOption('#class-select', '1');
        await page.waitForFunction(`document.querySelector('.run-header h1').textContent.startsWith('Sneaker')`, undefined, { timeout: 5000 });
        assert.deepEqual(
          (await posted(page)).filter((m) => m.type === 'showClass'),
          [{ type: 'showClass', position: 1 }],
          'one request to the host, naming the position of the class',
        );
        assert.equal(await js(page, `document.querySelector('#class-select').value`), '1', 'the selector follows the class shown');
        assert.equal(await js(page, `document.querySelector('#class-select').disabled`), false);
        const cards = await js<number[]>(page, `[...document.querySelectorAll('.concept-card')].map((c) => Number(c.dataset.concept))`);
        assert.deepEqual(cards, set.runs[1].bundle.ranking, "the sneaker run's cards");
        const state = await js<{ runDir: string }>(page, 'window.__states[window.__states.length - 1]');
        assert.equal(state.runDir, set.runs[1].dir, 'the state names the run shown (a reload restores it)');
        assert.deepEqual(await brokenImages(page), []);
      });
    },
  },
  {
    name: 'class set: shared concepts start with the pair the model confuses most, each match with its cosine, most similar first',
    async run(ctx) {
      const set = need(ctx);
      const mc = set.index.mostConfused!;
      // The fixture's point: the pair confused most is not the first pair.
      assert.deepEqual([mc.a, mc.b], [1, 2], `most confused: ${JSON.stringify(set.index.confusion)}`);
      await withPage(ctx, { set: 'set', position: 0 }, async (o) => {
        const { page } = o;
        assert.deepEqual([await js(page, `document.querySelector('#pair-a').value`), await js(page, `document.querySelector('#pair-b').value`)], ['1', '2']);
        let shown = await rows(o);
        const want = expected(set, 1, 2);
        assert.equal(shown.length, 4, 'one row per concept (4 each)');
        assert.deepEqual(
          shown.map((r) => [r.a, r.b]),
          want.map((m) => [m.a, m.b]),
        );
        for (const [k, r] of shown.entries()) {
          assert.ok(Math.abs(r.cosine - want[k].cosine) < 1e-6, `row ${k}: ${r.cosine} vs ${want[k].cosine}`);
          assert.equal(r.shown, want[k].cosine.toFixed(2));
          assert.deepEqual(r.classes, ['Sneaker', 'Sandal']);
          if (k > 0) assert.ok(shown[k - 1].cosine >= r.cosine, 'most similar first');
        }
        const sentence = await js<string>(page, `document.querySelector('.pair-confusion').textContent`);
        const { counts, totals } = set.index.confusion;
        assert.ok(sentence.includes(`${counts[2][1]} of the ${totals[2]} Sandal images as Sneaker`), sentence);
        // Each side shows its concept's top crops, from its own run.
        const right = await js<{ count: number; src: string }>(
          page,
          `(() => { const side = document.querySelector('.shared-pair').querySelectorAll('.shared-side')[1]; return { count: side.querySelectorAll('img').length, src: side.querySelector('img').src }; })()`,
        );
        assert.ok(right.count >= 1 && right.count <= 5, `${right.count} crops`);
        assert.match(right.src, /\/runs\/set-2\/crops\//, 'the Sandal side loads crops from the Sandal run');
        assert.deepEqual(await brokenImages(page), []);

        // Another pair, then the same class on both sides: the sides swap.
        await page.selectOption('#pair-a', '0');
        shown = await rows(o);
        assert.deepEqual(
          shown.map((r) => [r.a, r.b]),
          expected(set, 0, 2).map((m) => [m.a, m.b]),
        );
        assert.deepEqual(shown[0].classes, ['Ankle boot', 'Sandal']);
        await page.selectOption('#pair-b', '0');
        assert.deepEqual([await js(page, `document.querySelector('#pair-a').value`), await js(page, `document.querySelector('#pair-b').value`)], ['2', '0']);
        shown = await rows(o);
        assert.deepEqual(
          shown.map((r) => [r.a, r.b]),
          expected(set, 2, 0).map((m) => [m.a, m.b]),
          'the matches seen from the other side',
        );
        assert.deepEqual(shown[0].classes, ['Sandal', 'Ankle boot']);
        assert.deepEqual(await js(page, 'window.__states[window.__states.length - 1].pair'), [2, 0]);
        // The pair survives a reload (the state), and a switch of class.
        await page.reload();
        await page.waitForSelector('.shared-pair');
        assert.deepEqual([await js(page, `document.querySelector('#pair-a').value`), await js(page, `document.querySelector('#pair-b').value`)], ['2', '0']);
        // The confusion table: the whole set, rows by folder.
        const table = await js<string[][]>(
          page,
          `[...document.querySelectorAll('.confusion-table tbody tr')].map((r) => [...r.children].map((c) => c.textContent))`,
        );
        assert.deepEqual(
          table,
          set.index.classes.map((c, a) => [c.label!, ...counts[a].map(String), String(set.index.confusion.other[a]), String(totals[a])]),
        );
      });
    },
  },
  {
    name: 'class set: a run of its own shows neither the selector nor shared concepts, and neither does the report',
    async run(ctx) {
      for (const url of [undefined, pathToFileURL(ctx.reportFile).href]) {
        await withPage(ctx, { url }, async (opened) => {
          assert.equal(await js(opened.page, `document.querySelectorAll('#class-select, .section-shared, .shared-pair').length`), 0, url ?? 'webview');
        });
      }
    },
  },
];
