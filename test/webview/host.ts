/**
 * A stand-in for the VS Code webview host on 127.0.0.1. It serves exactly the extension's page
 * (resultsPageHtml: its markup and its CSP) with media/webview.{js,css} and the run folder's files.
 * What VS Code's webview runtime adds to a page outside the extension's HTML (the acquireVsCodeApi
 * script and the theme: CSS variables on <html>, a class on <body>) comes from `vscodeApi()`, a script
 * the browser runs before the page's own (as VS Code's runs before the page's CSP applies). Its
 * acquireVsCodeApi records posted messages in `window.__posted`, keeps setState in sessionStorage (so
 * it survives a reload, as VS Code's does) and answers 'ready' with 'show'.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { nonce, resultsPageHtml } from '../../src/extension/resultsPageHtml';
import type { BundleView, ClassSet, ConceptNames, RefinedRun, ResultsBundle } from '../../src/protocol';

export type Theme = 'light' | 'dark' | 'high-contrast';

/** What the stand-in host sends the page: the theme, the bundle (or `set` and the class `position`) and the view's extras. */
export interface PageOptions {
  theme?: Theme;
  bundle?: string;
  names?: ConceptNames;
  children?: RefinedRun[];
  parentLabel?: string;
  stale?: BundleView['stale'];
  set?: string;
  position?: number;
}

export interface Host {
  origin: string;
  /** The page URL. */
  pageUrl(): string;
  /**
   * The script to run in the page before its own (Playwright's addInitScript): VS Code's part of the
   * webview. `bundle` names the bundle sent with 'show' (e.g. a synthetic big one; default 'main').
   */
  vscodeApi(o?: PageOptions): string;
  /**
   * Registers an alternative bundle under a name for vscodeApi({ bundle }); its files are read from
   * `runDir` (served under /runs/<name>/) when given, else from the main run folder.
   */
  addBundle(name: string, bundle: ResultsBundle, runDir?: string): void;
  /**
   * Registers a set (several classes explained together) under a name for vscodeApi({ set, position }):
   * 'show' then carries the set, and the page's 'showClass' is answered with the other class's 'show',
   * as the extension's panel does.
   */
  addSet(name: string, index: ClassSet, runs: { bundle: ResultsBundle; runDir: string }[]): void;
  close(): Promise<void>;
}

// VS Code's Light Modern / Dark Modern / Dark High Contrast values for the variables the page and the
// toolkit read (VS Code puts them on <html>; the body gets the theme class).
const THEMES: Record<Theme, Record<string, string>> = {
  light: {
    'font-family': '-apple-system, BlinkMacSystemFont, "Segoe UI", system-ui, Ubuntu, "Droid Sans", sans-serif',
    'font-size': '13px',
    'font-weight': 'normal',
    'editor-font-family': 'Menlo, Monaco, "Courier New", monospace',
    foreground: '#3b3b3b',
    descriptionForeground: '#3b3b3b',
    'editor-background': '#ffffff',
    'editor-foreground': '#3b3b3b',
    'editorWidget-background': '#f8f8f8',
    'panel-border': '#e5e5e5',
    'widget-border': '#e5e5e5',
    focusBorder: '#005fb8',
    'button-background': '#005fb8',
    'button-foreground': '#ffffff',
    'button-hoverBackground': '#0258a8',
    'button-border': '#0000001a',
    'button-secondaryBackground': '#e5e5e5',
    'button-secondaryForeground': '#3b3b3b',
    'button-secondaryHoverBackground': '#cccccc',
    'checkbox-background': '#f8f8f8',
    'checkbox-border': '#cecece',
    'checkbox-foreground': '#3b3b3b',
    'input-background': '#ffffff',
    'input-foreground': '#3b3b3b',
    'input-border': '#cecece',
    'input-placeholderForeground': '#767676',
    'dropdown-background': '#ffffff',
    'dropdown-foreground': '#3b3b3b',
    'dropdown-border': '#cecece',
    'list-activeSelectionBackground': '#e8e8e8',
    'list-activeSelectionForeground': '#000000',
    'list-hoverBackground': '#f2f2f2',
    'textLink-foreground': '#005fb8',
    'badge-background': '#cccccc',
    'badge-foreground': '#3b3b3b',
    'textCodeBlock-background': '#f8f8f8',
    'inputValidation-warningBackground': '#f6f5d2',
    'inputValidation-warningBorder': '#b89500',
    'inputValidation-errorBackground': '#f2dede',
    'inputValidation-errorBorder': '#be1100',
  },
  dark: {
    'font-family': '-apple-system, BlinkMacSystemFont, "Segoe UI", system-ui, Ubuntu, "Droid Sans", sans-serif',
    'font-size': '13px',
    'font-weight': 'normal',
    'editor-font-family': 'Menlo, Monaco, "Courier New", monospace',
    foreground: '#cccccc',
    descriptionForeground: '#9d9d9d',
    'editor-background': '#1f1f1f',
    'editor-foreground': '#cccccc',
    'editorWidget-background': '#202020',
    'panel-border': '#2b2b2b',
    'widget-border': '#313131',
    focusBorder: '#0078d4',
    'button-background': '#0078d4',
    'button-foreground': '#ffffff',
    'button-hoverBackground': '#026ec1',
    'button-border': '#ffffff12',
    'button-secondaryBackground': '#313131',
    'button-secondaryForeground': '#cccccc',
    'button-secondaryHoverBackground': '#3c3c3c',
    'checkbox-background': '#313131',
    'checkbox-border': '#3c3c3c',
    'checkbox-foreground': '#cccccc',
    'input-background': '#313131',
    'input-foreground': '#cccccc',
    'input-border': '#3c3c3c',
    'input-placeholderForeground': '#989898',
    'dropdown-background': '#313131',
    'dropdown-foreground': '#cccccc',
    'dropdown-border': '#3c3c3c',
    'list-activeSelectionBackground': '#04395e',
    'list-activeSelectionForeground': '#ffffff',
    'list-hoverBackground': '#2a2d2e',
    'textLink-foreground': '#4daafc',
    'badge-background': '#616161',
    'badge-foreground': '#f8f8f8',
    'textCodeBlock-background': '#2b2b2b',
    'inputValidation-warningBackground': '#352a05',
    'inputValidation-warningBorder': '#b89500',
    'inputValidation-errorBackground': '#5a1d1d',
    'inputValidation-errorBorder': '#be1100',
  },
  'high-contrast': {
    'font-family': '-apple-system, BlinkMacSystemFont, "Segoe UI", system-ui, Ubuntu, "Droid Sans", sans-serif',
    'font-size': '13px',
    'font-weight': 'normal',
    'editor-font-family': 'Menlo, Monaco, "Courier New", monospace',
    foreground: '#ffffff',
    descriptionForeground: '#ffffff',
    'editor-background': '#000000',
    'editor-foreground': '#ffffff',
    'editorWidget-background': '#0c141f',
    contrastBorder: '#6fc3df',
    contrastActiveBorder: '#f38518',
    focusBorder: '#f38518',
    'button-background': '#000000',
    'button-foreground': '#ffffff',
    'button-border': '#6fc3df',
    'button-secondaryBackground': '#000000',
    'button-secondaryForeground': '#ffffff',
    'checkbox-background': '#000000',
    'checkbox-border': '#6fc3df',
    'checkbox-foreground': '#ffffff',
    'input-background': '#000000',
    'input-foreground': '#ffffff',
    'input-border': '#6fc3df',
    'dropdown-background': '#000000',
    'dropdown-foreground': '#ffffff',
    'dropdown-border': '#6fc3df',
    'list-hoverBackground': '#000000',
    'textLink-foreground': '#21a6ff',
    'badge-background': '#000000',
    'badge-foreground': '#ffffff',
  },
};

const BODY_CLASS: Record<Theme, string> = { light: 'vscode-light', dark: 'vscode-dark', 'high-contrast': 'vscode-high-contrast' };

export async function startHost(o: { runDir: string; mediaDir: string; bundle: ResultsBundle }): Promise<Host> {
  const bundles = new Map<string, { bundle: ResultsBundle; runDir?: string }>([['main', { bundle: o.bundle }]]);
  const sets = new Map<string, { index: ClassSet; runs: string[] }>();
  let origin = '';

  const viewOf = (name: string, extra: Pick<BundleView, 'names' | 'children' | 'parentLabel' | 'stale'> = {}): BundleView => {
    const entry = bundles.get(name);
    if (!entry) throw new Error(`no bundle named ${name}`);
    return {
      bundle: entry.bundle,
      baseUrl: entry.runDir ? `${origin}/runs/${encodeURIComponent(name)}` : `${origin}/run`,
      runDir: entry.runDir ?? o.runDir,
      ...(extra.names ? { names: extra.names } : {}),
      ...(extra.children ? { children: extra.children } : {}),
      ...(extra.parentLabel ? { parentLabel: extra.parentLabel } : {}),
      ...(extra.stale ? { stale: extra.stale } : {}),
    };
  };

  const vscodeApi = (q: PageOptions = {}): string => {
    const theme = q.theme ?? 'light';
    const set = q.set === undefined ? undefined : sets.get(q.set);
    if (q.set !== undefined && !set) throw new Error(`no set named ${q.set}`);
    // A set's views, one per class, each carrying the set; else the one bundle's view.
    const views: BundleView[] = set
      ? set.runs.map((name, current) => {
          const runs = set.runs.map((n) => {
            const v = viewOf(n);
            return { baseUrl: v.baseUrl, concepts: v.bundle.concepts, ranking: v.bundle.ranking, names: {} };
          });
          return { ...viewOf(name, q), set: { index: set.index, current, runs } };
        })
      : [viewOf(q.bundle ?? 'main', q)];
    return `(() => {
  const views = ${JSON.stringify(views)};
  let view = views[${set ? (q.position ?? 0) : 0}];
  const vars = ${JSON.stringify(THEMES[theme])};
  const KEY = 'craft-test-vscode-state';
  let acquired = false;
  window.__posted = [];
  window.__states = [];
  window.__view = view;
  // VS Code's theme, set through CSSOM (which no CSP restricts) once <html> and <body> exist, before
  // the page's DOMContentLoaded handlers run.
  document.addEventListener('readystatechange', () => {
    if (document.readyState !== 'interactive') return;
    for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty('--vscode-' + k, v);
    document.body.classList.add(${JSON.stringify(BODY_CLASS[theme])});
    document.body.dataset.vscodeThemeKind = ${JSON.stringify(BODY_CLASS[theme])};
    document.body.dataset.vscodeThemeName = ${JSON.stringify(theme)};
  });
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return Object.freeze({
      postMessage(message) {
        window.__posted.push(JSON.parse(JSON.stringify(message)));
        if (message && message.type === 'ready') {
          setTimeout(() => window.dispatchEvent(new MessageEvent('message', { data: { type: 'show', view } })), 0);
        }
        if (message && message.type === 'showClass' && views[message.position]) {
          view = window.__view = views[message.position];
          setTimeout(() => window.dispatchEvent(new MessageEvent('message', { data: { type: 'show', view } })), 0);
        }
      },
      getState() {
        const s = sessionStorage.getItem(KEY);
        return s === null ? undefined : JSON.parse(s);
      },
      setState(state) {
        window.__states.push(JSON.parse(JSON.stringify(state)));
        sessionStorage.setItem(KEY, JSON.stringify(state));
        return state;
      },
    });
  };
})();`;
  };

  const sendFile = (res: http.ServerResponse, file: string): void => {
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404).end();
        return;
      }
      const type = file.endsWith('.js')
        ? 'text/javascript'
        : file.endsWith('.css')
          ? 'text/css'
          : file.endsWith('.png')
            ? 'image/png'
            : 'application/octet-stream';
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(data);
    });
  };

  const inside = (base: string, rel: string): string | undefined => {
    const full = path.resolve(base, rel);
    return full.startsWith(path.resolve(base) + path.sep) ? full : undefined;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const p = decodeURIComponent(url.pathname);
    if (p === '/webview.html') {
      const html = resultsPageHtml({
        cspSource: origin,
        scriptUrl: `${origin}/media/webview.js`,
        styleUrl: `${origin}/media/webview.css`,
        title: 'CRAFT',
        nonce: nonce(),
      });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
      return;
    }
    const other = /^\/runs\/([^/]+)\/(.+)$/.exec(p);
    const otherDir = other ? bundles.get(other[1])?.runDir : undefined;
    const file = p.startsWith('/media/')
      ? inside(o.mediaDir, p.slice(7))
      : p.startsWith('/run/')
        ? inside(o.runDir, p.slice(5))
        : other && otherDir
          ? inside(otherDir, other[2])
          : undefined;
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    sendFile(res, file);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    pageUrl: () => `${origin}/webview.html`,
    vscodeApi,
    addBundle: (name, bundle, runDir) => void bundles.set(name, { bundle, runDir }),
    addSet: (name, index, runs) => {
      runs.forEach((r, k) => bundles.set(`${name}-${k}`, r));
      sets.set(name, { index, runs: runs.map((_, k) => `${name}-${k}`) });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
