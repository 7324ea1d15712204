/**
 * What-if in the large view (VS Code only: the host runs h): change how much of each concept the
 * selected image has and read what the model would say, against the image's own reconstruction.
 * Questions go to the host as 'whatIf' messages; answers come back as 'whatIfAnswer', matched by id.
 */
import type { ToWebview, WhatIfAnswer, WhatIfScore } from '../src/protocol';
import { MAX_WHATIF_SCALE } from '../src/protocol';
import { button, slider } from './components';
import { h, replaceChildren, swatch } from './dom';
import { num, percent } from './format';
import type { ViewModel } from './view-model';

/** Slider range: off, less, as is, more; up to twice is where the reconstruction stays meaningful to read. */
const SLIDER_MAX = Math.min(2, MAX_WHATIF_SCALE);
/** Wait this long after a slider stops moving before asking (a drag would otherwise ask at every step). */
const DEBOUNCE_MS = 120;

type Pending = (m: Extract<ToWebview, { type: 'whatIfAnswer' }>) => void;
const waiting = new Map<number, Pending>();
let nextId = 1;

/** Called by main.ts for every 'whatIfAnswer' from the host. */
export function receiveWhatIf(m: Extract<ToWebview, { type: 'whatIfAnswer' }>): void {
  const handler = waiting.get(m.id);
  waiting.delete(m.id);
  handler?.(m);
}

const scaleText = (v: number) => (v === 0 ? 'off' : `×${v.toFixed(2).replace(/\.?0+$/, '')}`);

/** The what-if section for image `image`; null where there is no host or the run kept no coefficients. */
export function whatIfSection(vm: ViewModel, image: number): HTMLElement | null {
  if (!vm.post || !vm.bundle.arrays) return null;
  const post = vm.post;
  const scales = new Map<number, number>(vm.bundle.concepts.map((c) => [c.index, 1]));
  const result = h('div', { class: 'whatif-result', attrs: { 'aria-live': 'polite' } });
  const rows = h('div', { class: 'whatif-rows' });
  const sliders = new Map<number, HTMLInputElement>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latest = 0;

  const ask = () => {
    const id = nextId++;
    latest = id;
    result.classList.add('asking');
    waiting.set(id, (m) => {
      if (id !== latest) return; // a newer question is on its way
      result.classList.remove('asking');
      if (m.answer) showAnswer(m.answer);
      else replaceChildren(result, h('p', { class: 'warning-text' }, `What-if is not available: ${m.error ?? 'no answer'}`));
    });
    post({ type: 'whatIf', id, image, scales: vm.bundle.concepts.map((c) => scales.get(c.index) ?? 1) });
  };
  const later = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(ask, DEBOUNCE_MS);
  };

  const cls = vm.classLabel;
  const line = (s: WhatIfScore, own: WhatIfScore) =>
    h(
      'p',
      { class: 'whatif-target' },
      h('strong', null, cls),
      `: score ${num(own.logit)} → `,
      h('strong', { class: s.logit < own.logit ? 'down' : s.logit > own.logit ? 'up' : '' }, num(s.logit)),
      `, probability ${percent(own.probability)} → `,
      h('strong', null, percent(s.probability)),
    );
  const showAnswer = (a: WhatIfAnswer) => {
    const changed = a.scales.some((v) => v !== 1);
    replaceChildren(
      result,
      changed
        ? line(a.target, a.reconstruction.target)
        : h(
            'p',
            { class: 'whatif-target' },
            h('strong', null, cls),
            `: score ${num(a.target.logit)}, probability ${percent(a.target.probability)} on this image's reconstruction from its concepts.`,
          ),
      h('p', { class: 'muted' }, changed ? 'The model would then say:' : 'The model says:'),
      h(
        'ol',
        { class: 'whatif-top' },
        ...a.top
          .slice(0, 3)
          .map((s) =>
            h('li', { class: s.index === vm.bundle.class.index ? 'is-target' : '' }, `${s.label ?? vm.className(s.index)} ${percent(s.probability)}`),
          ),
      ),
    );
  };

  for (const c of vm.ordered) {
    const s = slider({
      label: vm.names.label(c.index),
      min: 0,
      max: SLIDER_MAX,
      step: 0.25,
      value: 1,
      format: scaleText,
      onInput: (v) => {
        scales.set(c.index, v);
        later();
      },
    });
    vm.names.bind(s.element, () => {
      const label = s.element.querySelector('.slider-label');
      if (label) label.textContent = vm.names.label(c.index);
      s.input.setAttribute('aria-label', `${vm.names.label(c.index)}: how much of it the image has`);
    });
    sliders.set(c.index, s.input);
    rows.append(h('div', { class: 'whatif-row', attrs: { 'data-concept': c.index } }, swatch(c.color), s.element));
  }
  const reset = button({
    label: 'Reset',
    title: 'Every concept back to the image\u2019s own amount',
    onClick: () => {
      for (const [c, input] of sliders) {
        input.value = '1';
        input.dispatchEvent(new Event('input'));
        scales.set(c, 1);
      }
      later();
    },
  });
  // The first question when the section is opened: nothing is asked of the host until the user looks.
  let asked = false;
  const details = h(
    'details',
    {
      class: 'whatif',
      on: {
        toggle: () => {
          if (details.open && !asked) {
            asked = true;
            ask();
          }
        },
      },
    },
    h('summary', null, 'What if…'),
    h(
      'p',
      { class: 'muted' },
      'Change how much of each concept this image has (off, less, more) and see what the model would say. Only the part of the model after the layer runs, on this image\u2019s concepts; the comparison is the image\u2019s own reconstruction from its concepts.',
    ),
    rows,
    h('div', { class: 'whatif-actions' }, reset),
    result,
  ) as HTMLDetailsElement;
  return details;
}
