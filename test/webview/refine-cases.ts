/**
 * Recursive sub-concepts on the page, in real Chromium with the stand-in host: the sub-concepts of a
 * refined run nested in their concept's card, the "Refine…" action and its states, the refined run's
 * own page, and the report (read-only, no action). The refined run is made by the engine from the
 * fixture run (docs/method.md §8).
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { pathToFileURL } from 'url';
import { listChildren } from '../../src/craft/refine/children';
import { refine, type RefineResult } from '../../src/craft/refine/refine';
import type { RefinedRun } from '../../src/protocol';
import { brokenImages, js, posted } from './browser-harness';
import { withPage } from './with-page';
import type { Case } from './cases';
import type { Fixture } from './fixture';

export interface RefinedFixture {
  /** The fixture run's most important concept, refined into 3 sub-concepts. */
  child: RefineResult;
  /** What the host sends the fixture run's page: its refined runs. */
  children: RefinedRun[];
}

export async function refineFixture(fixture: Fixture): Promise<RefinedFixture> {
  const child = await refine({ run: fixture.runDir, concept: '#1', concepts: 3, designs: 4, provider: 'cpu' });
  return { child, children: await listChildren(fixture.runDir) };
}

const send = (page: Page, data: unknown) => js(page, `window.dispatchEvent(new MessageEvent('message', { data: ${JSON.stringify(data)} }))`);

function percent(share: number): string {
  if (!(share > 0)) return '0%';
  return share * 100 < 0.1 ? '<0.1%' : `${(share * 100).toFixed(1)}%`;
}

/** What a card shows of its refined runs. */
function nested(page: Page, concept: number) {
  return js<{
    hidden: boolean;
    runs: { layer: string; subs: { index: number; name: string; share: string; crops: number }[] }[];
    status: string;
    button: { text: string; disabled: boolean } | null;
  }>(
    page,
    `(() => {
      const card = document.querySelector('.concept-card[data-concept="${concept}"]');
      const section = card.querySelector('.refinements');
      const btn = card.querySelector('.refine-btn');
      return {
        hidden: section.hidden,
        runs: [...section.querySelectorAll('.refinement')].map((r) => ({
          layer: r.querySelector('h4 code').textContent,
          subs: [...r.querySelectorAll('.subconcept')].map((s) => ({
            index: Number(s.dataset.sub),
            name: s.querySelector('.sub-name').textContent,
            share: s.querySelector('.sub-share').textContent,
            crops: s.querySelectorAll('img.sub-crop').length,
          })),
        })),
        status: section.querySelector('.refine-status').hidden ? '' : section.querySelector('.refine-status').textContent,
        button: btn ? { text: btn.textContent.trim(), disabled: btn.hasAttribute('disabled') } : null,
      };
    })()`,
  );
}

export const refineCases: Case[] = [
  {
    name: 'sub-concepts: nested in the refined concept’s card (ranked, shares, crops that load); "Open sub-concepts" posts openChild',
    async run(ctx) {
      const { child, children } = ctx.refined;
      const b = ctx.fixture.bundle;
      assert.equal(children.length, 1);
      await withPage(ctx, { children }, async ({ page }) => {
        const mine = await nested(page, child.concept);
        assert.equal(mine.hidden, false);
        assert.equal(mine.runs.length, 1);
        assert.equal(mine.runs[0].layer, child.bundle.layer.name);
        assert.deepEqual(
          mine.runs[0].subs.map((s) => s.index),
          child.bundle.ranking,
          'most important sub-concept first',
        );
        for (const [k, s] of mine.runs[0].subs.entries()) {
          const c = child.bundle.concepts[s.index];
          assert.equal(s.name, `Sub-concept #${k + 1}`);
          assert.equal(s.share, percent(c.share));
          assert.equal(s.crops, Math.min(4, c.crops.length), `sub-concept ${s.index} shows its top crops`);
        }
        assert.deepEqual(await brokenImages(page), [], 'every picture, the nested crops included, loads');
        // Only that concept's card holds sub-concepts; every card can be refined.
        for (const c of b.concepts) {
          const other = await nested(page, c.index);
          assert.deepEqual(other.button, { text: 'Refine…', disabled: false }, `concept ${c.index}`);
          if (c.index !== child.concept) assert.equal(other.hidden, true, `concept ${c.index} has no sub-concepts`);
        }
        // The page keeps the host's order (most important first), whatever the indices: here reversed.
        const reversed = children[0].concepts.map((_, k, all) => ({ ...all[all.length - 1 - k], rank: k }));
        await send(page, { type: 'children', children: [{ ...children[0], concepts: reversed }] });
        const shown = (await nested(page, child.concept)).runs[0].subs;
        assert.deepEqual(
          shown.map((s) => s.index),
          reversed.map((s) => s.index),
        );
        assert.deepEqual(
          shown.map((s) => s.name),
          reversed.map((_, k) => `Sub-concept #${k + 1}`),
        );
        await send(page, { type: 'children', children });
        const alt = await js<string>(page, `document.querySelector('.subconcept img.sub-crop').alt`);
        assert.match(alt, /^Sub-concept #1 of Concept #1, crop 1, coefficient /);
        await page.locator(`.concept-card[data-concept="${child.concept}"] .open-child`).click();
        assert.deepEqual((await posted(page)).slice(1), [{ type: 'openChild', child: 0 }]);
      });
    },
  },
  {
    name: 'Refine…: posts refineConcept, shows the refinement running, then its error or its sub-concepts when the host says so',
    async run(ctx) {
      const { child, children } = ctx.refined;
      const target = ctx.fixture.bundle.ranking.find((c) => c !== child.concept)!;
      await withPage(ctx, {}, async ({ page }) => {
        const card = page.locator(`.concept-card[data-concept="${target}"]`);
        await card.locator('.refine-btn').click();
        assert.deepEqual((await posted(page)).slice(1), [{ type: 'refineConcept', concept: target }]);
        let state = await nested(page, target);
        assert.deepEqual(state.button, { text: 'Refining…', disabled: true });
        assert.equal(state.hidden, false);
        assert.match(state.status, /^Refining Concept #\d…$/);
        // A second click while it runs posts nothing more.
        await card.locator('.refine-btn').click({ force: true });
        assert.equal((await posted(page)).length, 2);
        // The host says it failed: the reason is shown, the action is back.
        await send(page, { type: 'refining', concept: target, running: false, error: 'Only 1 crop of concept 2 reaches its 90th percentile' });
        state = await nested(page, target);
        assert.deepEqual(state.button, { text: 'Refine…', disabled: false });
        assert.equal(state.status, 'Refining failed: Only 1 crop of concept 2 reaches its 90th percentile');
        assert.equal(await js(page, `getComputedStyle(document.querySelector('.concept-card[data-concept="${target}"] .refine-status')).display`), 'block');
        // Then a run that succeeds: the host sends the new refined runs, the card nests them, named as the user named them.
        await card.locator('.refine-btn').click();
        const named: RefinedRun[] = [
          {
            ...children[0],
            concept: target,
            path: children[0].path,
            concepts: children[0].concepts.map((s, k) => (k === 0 ? { ...s, name: 'Heel <b>counter</b>' } : s)),
          },
          ...children,
        ];
        await send(page, { type: 'children', children: named });
        await send(page, { type: 'refining', concept: target, running: false });
        state = await nested(page, target);
        assert.deepEqual(state.button, { text: 'Refine…', disabled: false });
        assert.equal(state.status, '');
        assert.equal(state.runs.length, 1);
        assert.equal(state.runs[0].subs[0].name, 'Heel <b>counter</b>', 'a name is text, never markup');
        assert.equal((await nested(page, child.concept)).runs.length, 1, 'the other card keeps its own');
        // The new list's indices: the second refined run is child 1 now.
        await page.locator(`.concept-card[data-concept="${child.concept}"] .open-child`).click();
        assert.deepEqual((await posted(page)).at(-1), { type: 'openChild', child: 1 });
        assert.deepEqual(await brokenImages(page), []);
      });
    },
  },
  {
    name: 'a refined run’s own page says what it refines and opens its parent; the report has no Refine action',
    async run(ctx) {
      const { child } = ctx.refined;
      await withPage(ctx, { bundle: 'refined', parentLabel: 'Concept #1 of the run 20261130-ankle-boot' }, async ({ page }) => {
        const text = await js<string>(page, `document.querySelector('.section-lineage').textContent`);
        assert.match(text, /This run refines Concept #1 of the run 20261130-ankle-boot: the \d+ crops where that concept's coefficient is at least/);
        assert.ok(text.includes(`factorised whole at ${child.bundle.layer.name}`), text);
        assert.equal(await js(page, `document.querySelectorAll('.concept-card').length`), child.bundle.concepts.length);
        await page.getByRole('button', { name: 'Open the parent run' }).click();
        assert.deepEqual((await posted(page)).slice(1), [{ type: 'openParent' }]);
        assert.deepEqual(await brokenImages(page), []);
      });
      await withPage(ctx, { url: pathToFileURL(ctx.reportFile).href }, async ({ page }) => {
        assert.equal(await js(page, `document.querySelectorAll('.refine-btn').length`), 0);
        assert.equal(await js(page, `[...document.querySelectorAll('.refinements')].every((s) => s.hidden)`), true);
      });
    },
  },
];
