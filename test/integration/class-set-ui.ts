// The UI check's part for several classes in one run (launch.ts runs it after the single-class checks,
// in the same window): the class prompt's "Several classes…" opens a multi-select, two classes are
// checked, the run writes a set, and in the panel the header's class selector switches to the other
// class in place (the real page in its webview frame, driven like a user).
import * as fs from 'fs';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import { answer, runFromPalette, type UiLog } from './ui';

const QUICK_INPUT = '.quick-input-widget';

/** The webview frame showing the class selector, once there is one. */
async function selectorFrame(page: Page, timeoutMs: number): Promise<Frame> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    for (const frame of page.frames()) {
      if (
        frame !== page.mainFrame() &&
        (await frame
          .locator('#class-select')
          .count()
          .catch(() => 0)) > 0
      )
        return frame;
    }
    await page.waitForTimeout(250);
  }
  throw new Error('no results page with a class selector appeared');
}

export async function severalClassesFromThePrompt(page: Page, workspace: string, log: UiLog): Promise<void> {
  // The choices the first run remembered, with the folder of both classes and no class: the prompt
  // asks for the class only.
  const file = path.join(workspace, 'craft.config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete config.class;
  fs.writeFileSync(file, JSON.stringify({ ...config, images: 'images', maxImages: 8, concepts: 3, designs: 4 }, null, 2));
  const root = path.join(workspace, '.craft');
  const before = new Set(fs.existsSync(root) ? fs.readdirSync(root) : []);

  await runFromPalette(page, 'CRAFT: Explain class');
  await answer(page, 'class', 'Several', 'Several classes');
  await page.locator(`${QUICK_INPUT} .quick-input-title`, { hasText: 'classes' }).waitFor({ state: 'visible', timeout: 30_000 });
  for (const label of ['9 Ankle boot', '7 Sneaker']) {
    const row = page
      .locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row`)
      .filter({ has: page.locator('.label-name', { hasText: label }) })
      .first();
    // A click on the row's label toggles its checkbox (VS Code's multi-select list).
    await row.locator('.quick-input-list-label').first().click();
  }
  const selected = await page.locator(`${QUICK_INPUT} .quick-input-count`).textContent();
  if (!/2 Selected/.test(selected ?? '')) throw new Error(`the multi-select shows "${selected}" after checking two classes`);
  await page.keyboard.press('Enter');
  log('ui: checked Ankle boot and Sneaker in the multi-select');
  // Model, images and layer are remembered choices: the run is shown for confirmation first.
  await answer(page, 'run with these choices', '', 'Sneaker, Ankle boot');

  // The set: a new folder with classes.json (the panel opens on its first class).
  const end = Date.now() + 180_000;
  let setDir: string | undefined;
  while (!setDir && Date.now() < end) {
    setDir = (fs.existsSync(root) ? fs.readdirSync(root) : [])
      .map((n) => path.join(root, n))
      .find((d) => !before.has(path.basename(d)) && fs.existsSync(path.join(d, 'classes.json')));
    if (!setDir) await page.waitForTimeout(250);
  }
  if (!setDir) throw new Error(`no set folder with classes.json appeared in ${root}`);
  const index = JSON.parse(fs.readFileSync(path.join(setDir, 'classes.json'), 'utf8')) as { mode: string; classes: { index: number }[] };
  // The classes in the list's order; each from its sub-folder (both have one).
  if (index.mode !== 'folders' || index.classes.map((c) => c.index).join() !== '7,9') throw new Error(`the set is ${JSON.stringify(index)}`);
  log(`ui: set ${setDir}`);

  const frame = await selectorFrame(page, 60_000);
  const heading = () => frame.locator('.run-header h1').first().textContent();
  if (!(await heading())?.startsWith('Sneaker')) throw new Error(`the panel shows ${await heading()} first`);
  if ((await frame.locator('.shared-pair').count()) !== 3) throw new Error('the shared concepts list 3 matched pairs');
  const tabs = (title: string) => page.locator('.tabs-container .tab .label-name', { hasText: `CRAFT: ${title} · ` }).count();
  const boots = await tabs('Ankle boot');
  if ((await tabs('Sneaker')) !== 1) throw new Error('no tab titled after the class shown (Sneaker)');
  await frame.locator('#class-select').selectOption('1');
  const switchEnd = Date.now() + 30_000;
  while (!(await heading())?.startsWith('Ankle boot')) {
    if (Date.now() > switchEnd) throw new Error(`the panel still shows ${await heading()} after choosing Ankle boot`);
    await page.waitForTimeout(200);
  }
  // The same panel (its tab retitled), not a new one.
  const [sneakers, bootsNow] = [await tabs('Sneaker'), await tabs('Ankle boot')];
  if (sneakers !== 0 || bootsNow !== boots + 1) throw new Error(`tabs after the switch: ${sneakers} Sneaker, ${bootsNow} Ankle boot (before: 1, ${boots})`);
}
