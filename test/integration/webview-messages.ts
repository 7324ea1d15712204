// The messages between the extension host and a results page in the real workbench, seen from the
// browser: what the page received ('show' with its names, 'names'), and a message posted as the page
// posts it, through VS Code's own webview channel.
//
// VS Code writes a webview's HTML with document.open(), which erases the listeners registered before
// it (see csp-watch.ts); the page registers its 'message' listener afterwards, on the same window, so
// an init script wraps EventTarget.prototype.addEventListener and records what reaches that listener.
import type { BrowserContext, Frame } from 'playwright-core';
import type { ConceptNames, FromWebview } from '../../src/protocol';

const STORE = '__craftReceived';

const RECORDER = `(() => {
  if (window === window.top) return;
  window.${STORE} = [];
  const add = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type, listener, options) {
    if (this === window && type === 'message' && typeof listener === 'function') {
      const inner = listener;
      const recording = function (e) {
        const m = e.data;
        if (m && m.type === 'show') window.${STORE}.push({ type: 'show', runDir: m.view && m.view.runDir, names: m.view && m.view.names });
        else if (m && m.type === 'names') window.${STORE}.push({ type: 'names', names: m.names });
        return inner.call(this, e);
      };
      return add.call(this, type, recording, options);
    }
    return add.call(this, type, listener, options);
  };
})();`;

/** What a results page received from the host ('show' reduced to its run folder and names). */
export type Received = { type: 'show'; runDir?: string; names?: ConceptNames } | { type: 'names'; names: ConceptNames };

/** Call before the context opens any page. */
export async function recordWebviewMessages(context: BrowserContext): Promise<void> {
  await context.addInitScript({ content: RECORDER });
}

/** The messages the page in `frame` received so far, oldest first. */
export async function received(frame: Frame): Promise<Received[]> {
  return ((await frame.evaluate(`window.${STORE} || []`)) as Received[]) ?? [];
}

/**
 * Posts `message` to the host as the page in `frame` would with acquireVsCodeApi().postMessage: through
 * the function VS Code's webview host frame (the page's parent) gives its page for that (the page's own
 * API object can be acquired once only, by the page).
 */
export async function postAsPage(frame: Frame, message: FromWebview): Promise<void> {
  const host = frame.parentFrame();
  if (!host) throw new Error('the results page has no webview host frame');
  // A string: the test build has no DOM types, and the function runs in the browser anyway.
  await host.evaluate(`(() => {
    const post = window.__vscode_post_message__;
    if (typeof post !== 'function') throw new Error('no __vscode_post_message__ in the webview host frame');
    post('onmessage', { message: ${JSON.stringify(message)}, transfer: undefined });
  })()`);
}
