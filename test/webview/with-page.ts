/** Every webview case opens the page the same way, and ends with the same checks. */
import assert from 'node:assert/strict';
import { openPage, type Opened, type OpenOptions } from './browser-harness';
import type { Ctx } from './cases';
import type { PageOptions } from './host';

/** No CSP violation, no page error, no dialog (a dialog means an injected script ran). */
export async function assertClean(p: Opened): Promise<void> {
  assert.deepEqual(await p.violations(), [], 'CSP violations');
  assert.deepEqual(p.errors, [], 'page errors');
  assert.deepEqual(p.dialogs, [], 'dialogs (an injected script ran)');
}

/** Opens the webview page from the stand-in host (what it sends: `o`), or `url` (a report) as it is; runs `body`, then the checks. */
export async function withPage(ctx: Ctx, o: OpenOptions & PageOptions & { url?: string }, body: (p: Opened) => Promise<void>): Promise<void> {
  const host = o.url === undefined ? { initScript: ctx.host.vscodeApi(o) } : {};
  const opened = await openPage(ctx.browser, o.url ?? ctx.host.pageUrl(), { ...o, ...host });
  try {
    await body(opened);
    await assertClean(opened);
  } finally {
    await opened.close();
  }
}
