// Records the CSP violations of every results webview frame (a page holding #craft-root) in a browser
// context of the real workbench, as they happen, also in panels closed before the run ends.
//
// VS Code writes a webview's HTML into its frame with document.open()/write(), which drops the event
// listeners and observers of the frame's first document (a 'securitypolicyviolation' listener would be
// gone) but keeps its window: so an init script in every child frame starts a ReportingObserver
// ('csp-violation' reports) and a timer that says when the frame holds a results page; both outlive
// document.open() (checked in Chromium: a MutationObserver on the document does not).
import type { BrowserContext, Frame } from 'playwright-core';

const BINDING = '__craftCspWatch';

interface Message {
  kind: 'page' | 'violation';
  text?: string;
}

// Webviews are child frames: the workbench's own window is left alone.
const RECORDER = `(() => {
  if (window === window.top) return;
  const send = (m) => window.${BINDING}(m);
  const isResults = () => document.getElementById('craft-root') !== null;
  window.${BINDING}Installed = true;
  const poll = setInterval(() => {
    if (!isResults()) return;
    clearInterval(poll);
    send({ kind: 'page' });
  }, 100);
  // Other webviews (VS Code's image preview, say) are not ours to judge.
  new ReportingObserver((reports) => {
    if (!isResults()) return;
    for (const r of reports) {
      const b = r.body;
      send({ kind: 'violation', text: b.effectiveDirective + ' blocked ' + (b.blockedURL || 'inline') + ' at ' + b.sourceFile + ':' + b.lineNumber + (b.sample ? ' ' + b.sample : '') });
    }
  }, { types: ['csp-violation'], buffered: true }).observe();
})();`;

export class CspWatch {
  /** Violations in results frames, with the frame's URL. */
  readonly violations: string[] = [];
  /** Results pages that appeared under watch. */
  pages = 0;

  /** Call before the context opens any page. */
  async attach(context: BrowserContext): Promise<void> {
    await context.exposeBinding(BINDING, (source, m: Message) => {
      const where = source.frame.url().slice(0, 160);
      if (m.kind === 'page') this.pages++;
      else this.violations.push(`${m.text} (frame ${where})`);
    });
    await context.addInitScript({ content: RECORDER });
  }

  /** Whether the recorder runs in `frame` (so a clean result means something). */
  static async watching(frame: Frame): Promise<boolean> {
    return (await frame.evaluate(`window.${BINDING}Installed === true`).catch(() => false)) === true;
  }

  /** Throws unless at least one results page was watched and none had a violation. */
  assertClean(what: string): void {
    if (this.pages === 0) throw new Error(`no results page appeared in ${what}: nothing was watched`);
    if (this.violations.length) throw new Error(`${this.violations.length} CSP violation(s) in the results webview (${what}):\n${this.violations.join('\n')}`);
  }
}
