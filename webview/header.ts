/** The run's header: what was explained, on what, how long it took, and what went wrong. */
import { button } from './components';
import { h } from './dom';
import { basename, num, percent, plural, seconds } from './format';
import type { ViewModel } from './view-model';

export function renderHeader(vm: ViewModel): HTMLElement {
  const b = vm.bundle;
  const label = b.class.label ?? b.labels?.[b.class.index];
  const title = label ? `${label}` : `Class ${b.class.index}`;

  const actions = vm.post
    ? h(
        'div',
        { class: 'header-actions', attrs: { role: 'group', 'aria-label': 'Export' } },
        button({ label: 'Open results folder', title: vm.runDir, onClick: () => vm.post?.({ type: 'openFolder' }) }),
        button({ label: 'Save HTML report', appearance: 'primary', title: 'Write one self-contained HTML file with these results', onClick: () => vm.post?.({ type: 'exportHtml' }) }),
      )
    : null;

  const modelName = basename(b.model.path);
  const shape = b.layer.shape?.length ? b.layer.shape.join('×') : '';
  const skipped = b.skipped?.length ?? 0;
  const provider = (b.provider ?? 'cpu').toUpperCase();
  const requested = b.settings?.providerRequested;
  const providerNote = requested && requested !== 'auto' && requested !== b.provider ? ` (requested ${requested.toUpperCase()})` : '';
  const nmf = b.nmf;

  const facts = h(
    'dl',
    { class: 'facts' },
    fact('Model', modelName, b.model.hPath ? `${b.model.path} + ${b.model.hPath}` : b.model.path),
    fact('Layer', b.layer.name, shape ? `activation shape ${shape}` : undefined, shape),
    fact('Class', `${b.class.index}${label ? ` · ${label}` : ''}`),
    fact('Images', `${b.images.length}`, b.datasetRoot, skipped ? `${skipped} skipped` : undefined),
    fact('Concepts', `${b.concepts.length}`, `patch ${b.settings?.patchSize} px, ${b.settings?.designs} Sobol designs`),
    fact('Provider', provider + providerNote),
    nmf ? fact('NMF error', percent(nmf.reconstructionError), '‖A − UW‖F / ‖A‖F on the crop activations', `${plural(nmf.iterations, 'iteration')}${nmf.converged ? '' : ', not converged'}`) : null,
    b.splitCheck ? fact('h(g(x)) vs f(x)', `max |Δ| ${num(b.splitCheck.maxAbsDiff)}`, `checked on ${plural(b.splitCheck.images, 'image')}`) : null,
    b.timings?.total !== undefined ? fact('Time', seconds(b.timings.total)) : null,
  );

  const stages = Object.entries(b.timings ?? {}).filter(([k]) => k !== 'total');
  const timingLine = stages.length
    ? h('p', { class: 'timings muted', attrs: { 'aria-label': 'Time per stage' } }, stages.map(([k, v]) => `${k} ${seconds(v)}`).join(' · '))
    : null;

  const warnings = b.warnings?.length
    ? h(
        'div',
        { class: 'notice notice-warning', attrs: { role: 'note', 'aria-label': 'Warnings' } },
        h('strong', null, plural(b.warnings.length, 'warning')),
        h('ul', null, ...b.warnings.map((w) => h('li', null, w))),
      )
    : null;

  const skippedList = skipped
    ? h(
        'details',
        { class: 'notice skipped' },
        h('summary', null, `${plural(skipped, 'image')} could not be used`),
        h('ul', null, ...b.skipped.map((s) => h('li', null, h('code', null, s.path), ': ', s.reason))),
      )
    : null;

  const created = b.createdAt ? new Date(b.createdAt) : undefined;
  const runLine = h(
    'p',
    { class: 'run muted' },
    h('span', { class: 'run-dir', attrs: { title: vm.runDir } }, vm.runDir),
    created && !Number.isNaN(created.getTime()) ? ` · ${created.toLocaleString()}` : '',
    b.tool ? ` · ${b.tool.name} ${b.tool.version}` : '',
  );

  return h(
    'header',
    { class: 'run-header' },
    h(
      'div',
      { class: 'title-row' },
      h('div', { class: 'title-block' }, h('p', { class: 'eyebrow' }, vm.mode === 'report' ? 'CRAFT concept explanation · standalone report' : 'CRAFT concept explanation'), h('h1', null, title, h('span', { class: 'class-index' }, ` class ${b.class.index}`))),
      actions,
    ),
    facts,
    timingLine,
    runLine,
    warnings,
    skippedList,
  );
}

function fact(name: string, value: string, title?: string, detail?: string): HTMLElement {
  return h(
    'div',
    { class: 'fact' },
    h('dt', null, name),
    h('dd', { attrs: { title } }, h('span', { class: 'fact-value' }, value), detail ? h('span', { class: 'fact-detail' }, detail) : null),
  );
}
