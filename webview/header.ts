/** The run's header: what was explained, on what, how long it took, and what went wrong. */
import { button } from './components';
import { h } from './dom';
import { basename, num, percent, plural, seconds } from './format';
import { runClassLabel, type ResultsBundle } from '../src/protocol';
import type { ViewModel } from './view-model';

/** `classSwitch`: the class selector of a run that belongs to a set. */
export function renderHeader(vm: ViewModel, classSwitch?: HTMLElement | null): HTMLElement {
  const b = vm.bundle;
  const label = runClassLabel(b);
  const title = label ? `${label}` : `Class ${b.class.index}`;

  const actions = vm.post
    ? h(
        'div',
        { class: 'header-actions', attrs: { role: 'group', 'aria-label': 'Export' } },
        button({ label: 'Open results folder', title: vm.runDir, onClick: () => vm.post?.({ type: 'openFolder' }) }),
        button({
          label: 'Save HTML report',
          appearance: 'primary',
          title: 'Write one self-contained HTML file with these results',
          onClick: () => vm.post?.({ type: 'exportHtml' }),
        }),
      )
    : null;

  const modelName = basename(b.model.path);
  const shape = b.layer.shape?.length ? b.layer.shape.join('×') : '';
  const skipped = b.skipped?.length ?? 0;
  const provider = providerName(b.provider ?? 'cpu');
  const requested = b.settings?.providerRequested;
  const providerNote = requested && requested !== 'auto' && requested !== b.provider ? ` (requested ${providerName(requested)})` : '';
  const details = b.providerDetails;
  const share = details?.nodeShare;
  const nmf = b.nmf;
  const others = vm.otherClass.length;

  const facts = h(
    'dl',
    { class: 'facts' },
    fact('Model', modelName, `The ONNX model explained: ${b.model.path}${b.model.hPath ? `, with h from ${b.model.hPath}` : ''}.`),
    fact(
      'Layer',
      b.layer.name,
      `The model is cut in two at this layer: g (image → this layer) gives the activations the concepts are found in; h (this layer → class score) is what the importance and the fidelity curves ask.${shape ? ` Activation shape ${shape}${b.layer.spatial ? ' (channels × height × width)' : ''}.` : ''}`,
      shape,
    ),
    fact(
      'Class',
      label ?? `class ${b.class.index}`,
      `The class whose score is explained (output ${b.class.index} of the model): a concept's importance is its part in this class's score.`,
      label ? `class ${b.class.index}` : undefined,
    ),
    fact(
      'Images',
      `${b.images.length}`,
      `Images explained, from ${b.datasetRoot}.${skipped ? ` ${plural(skipped, 'image')} could not be used (listed below).` : ''}${vm.hasPredictions ? ` ${others ? plural(others, 'image is', 'images are') : 'None is'} predicted by the model as another class than ${vm.classLabel}.` : ''}`,
      [skipped ? `${skipped} skipped` : '', others ? `${others} predicted as another class` : ''].filter(Boolean).join(' · ') || undefined,
    ),
    fact(
      'Concepts',
      `${b.concepts.length}`,
      `${plural(b.concepts.length, 'concept')} found by non-negative matrix factorisation (NMF) of the activations of ${b.settings?.patchSize} px image crops; importance estimated with ${b.settings?.designs} Sobol designs per concept (more designs give steadier importances and a slower run).`,
      `${b.settings?.patchSize} px crops, ${b.settings?.designs} Sobol designs`,
    ),
    fact(
      'Provider',
      provider + providerNote,
      [
        'Where ONNX Runtime ran the model: the CPU, or a GPU through CUDA, WebGPU, DirectML or CoreML. The results are the same up to rounding; only the time differs.',
        details?.notice,
        share ? `${percent(share.g)} of g's operations and ${percent(share.h)} of h's ran on it, the rest on the CPU.` : undefined,
        providerNote && !details?.notice ? `The run asked for ${providerName(requested ?? 'auto')}, which could not be used.` : undefined,
      ]
        .filter(Boolean)
        .join(' '),
      details?.device,
    ),
    nmf ? nmfFact(nmf, b.settings?.nmf?.maxIter) : null,
    b.splitCheck
      ? fact(
          'Split check',
          b.splitCheck.maxAbsDiff === 0 ? 'exact' : `max |Δ| ${num(b.splitCheck.maxAbsDiff)}`,
          `The two halves of the model, h(g(x)), must give the same output as the whole model f(x): the largest difference on ${plural(b.splitCheck.images, 'image')} is ${num(b.splitCheck.maxAbsDiff)}. 0, or a tiny value from rounding, means the split is exact.`,
          `h(g(x)) vs f(x), ${plural(b.splitCheck.images, 'image')}`,
        )
      : null,
    b.timings?.total !== undefined ? fact('Time', seconds(b.timings.total), 'Wall-clock time of the whole run; the time of each stage is listed below.') : null,
  );

  const stages = Object.entries(b.timings ?? {}).filter(([k]) => k !== 'total');
  const timingLine = stages.length
    ? h(
        'p',
        { class: 'timings muted' },
        h('span', { class: 'sr-only' }, 'Time per stage: '),
        ...stages.flatMap(([k, v], j) => [
          j ? ' · ' : '',
          h(
            'span',
            { attrs: { title: STAGES[k] ? `${k}: ${STAGES[k]}` : k } },
            `${k} ${seconds(v)}`,
            STAGES[k] ? h('span', { class: 'sr-only' }, ` (${STAGES[k]})`) : null,
          ),
        ]),
      )
    : null;

  const stale = vm.stale
    ? h(
        'div',
        { class: 'notice notice-warning stale', attrs: { role: 'alert' } },
        h('strong', null, vm.stale === 'changed' ? 'Stale results: the model has changed since this run. ' : 'The model file is gone. '),
        vm.stale === 'changed'
          ? `${modelName} no longer holds the model these concepts were found in. Run the explanation again to explain the model as it is now.`
          : `${b.model.path} cannot be read any more, so these results cannot be checked against it.`,
      )
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
      h(
        'div',
        { class: 'title-block' },
        h('p', { class: 'eyebrow' }, vm.mode === 'report' ? 'CRAFT concept explanation · standalone report' : 'CRAFT concept explanation'),
        h('h1', null, title, h('span', { class: 'class-index' }, ` class ${b.class.index}`)),
        classSwitch,
      ),
      actions,
    ),
    stale,
    facts,
    timingLine,
    runLine,
    warnings,
    skippedList,
  );
}

const PROVIDER_NAMES: Record<string, string> = { cpu: 'CPU', cuda: 'CUDA', webgpu: 'WebGPU', dml: 'DirectML', coreml: 'CoreML', auto: 'auto' };

function providerName(p: string): string {
  return PROVIDER_NAMES[p] ?? p.toUpperCase();
}

/** What each stage of a run does, for the timings' tooltips. */
const STAGES: Record<string, string> = {
  model: 'loading the model and cutting it at the layer',
  activations: 'cutting the crops and running g on them and on the images',
  nmf: 'factorising the crop activations into concepts',
  transform: "the concepts' coefficients at image scale, and each image's prediction",
  importance: 'Sobol importance: h on the images with concepts switched on and off',
  fidelity: 'the C-Deletion and C-Insertion curves',
  maps: 'attribution maps, crop-scale maps and top image regions',
  write: 'writing the results folder',
};

function nmfFact(nmf: ResultsBundle['nmf'], maxIter: number | undefined): HTMLElement {
  const capped = !nmf.converged && (maxIter === undefined || nmf.iterations >= maxIter);
  const what =
    'How much of the crop activations the concepts leave unexplained: ‖A − UW‖F / ‖A‖F, the relative error of the factorisation (0 % would be exact).';
  const stop = nmf.converged
    ? ` It converged after ${plural(nmf.iterations, 'iteration')}.`
    : capped
      ? ` It stopped at its cap of ${plural(nmf.iterations, 'iteration')} before reaching its tolerance. The reference stops at 200 iterations too; this is normal, not a failure.`
      : ` It stopped after ${plural(nmf.iterations, 'iteration')} before reaching its tolerance.`;
  const detail = nmf.converged
    ? `converged, ${plural(nmf.iterations, 'iteration')}`
    : capped
      ? `${plural(nmf.iterations, 'iteration')} (the cap)`
      : plural(nmf.iterations, 'iteration');
  return fact('NMF error', percent(nmf.reconstructionError), what + stop, detail);
}

/**
 * A header field. The explanation is the field's tooltip and, for screen readers, visually hidden text
 * read after the value.
 */
function fact(name: string, value: string, explain: string, detail?: string): HTMLElement {
  return h(
    'div',
    { class: 'fact', attrs: { title: explain } },
    h('dt', null, name),
    h(
      'dd',
      null,
      h('span', { class: 'fact-value' }, value),
      detail ? h('span', { class: 'fact-detail' }, detail) : null,
      h('span', { class: 'sr-only' }, ` ${explain}`),
    ),
  );
}
