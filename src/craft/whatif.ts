/**
 * What-if on one image of a finished run: scale its concepts (0 switches one off, 1 keeps it, 2
 * doubles it) and read what h makes of the reconstruction (u ⊙ s)·W: the class logit, the
 * probability and the top classes (docs/method.md §5.2 for the reconstruction). Only h runs, on the
 * run's stored coefficients (arrays/image-coefficients.f32), so an answer takes milliseconds once the
 * session is open; the panel keeps one open per run while it asks.
 */
import * as fs from 'fs';
import type * as Ort from 'onnxruntime-node';
import { readArray } from './bundle/arrays';
import { readBundle } from './bundle/writer';
import { CraftError } from './errors';
import { withReconstruction } from './onnx/build';
import { parseModel, type OnnxModel } from './onnx/model';
import { runFloat, SessionFactory } from './onnx/sessions';
import { extractSubgraph } from './onnx/subgraph';
import { latentSize } from './stages/activations';
import { MAX_WHATIF_SCALE, type ProviderRequest, type ResultsBundle, type WhatIfAnswer, type WhatIfScore } from '../protocol';

export const MAX_SCALE = MAX_WHATIF_SCALE;

export class WhatIf {
  private constructor(
    private readonly bundle: ResultsBundle,
    private readonly coefficients: { rows: number; cols: number; data: Float64Array },
    private readonly session: Ort.InferenceSession,
    private readonly cells: number,
    private readonly coeffDims: number[],
    /** h ends with a Softmax: its output is already a probability. */
    private readonly isProbability: boolean,
  ) {}

  /** Opens h with the concept reconstruction in front of it, for the run in `runDir`. */
  static async open(runDir: string, provider: ProviderRequest = 'cpu'): Promise<WhatIf> {
    const bundle = await readBundle(runDir);
    if (!bundle.arrays) {
      throw new CraftError(
        'input',
        `The run in ${runDir} was made before runs kept their coefficients, so its concepts cannot be changed.`,
        'Run the explanation again with this version.',
      );
    }
    const coefficients = await readArray(runDir, bundle.arrays.imageCoefficients);
    const h = readH(bundle);
    const layout = bundle.settings.preprocess.layout;
    const [lh, lw] = latentSize(bundle.layer.shape, layout);
    const r = bundle.concepts.length;
    const W = { data: Float32Array.from(bundle.W.flat()), rows: r, cols: bundle.W[0]?.length ?? 0 };
    const factory = await SessionFactory.open(provider);
    const model = withReconstruction(h, { W, spatial: bundle.layer.spatial ? { height: lh, width: lw } : null, layout });
    const session = await factory.create(model.bytes, 'h with the concept reconstruction');
    const cells = bundle.layer.spatial ? lh * lw : 1;
    if (coefficients.rows !== bundle.images.length * cells) {
      await session.release();
      throw new CraftError(
        'input',
        `The run's coefficients hold ${coefficients.rows} rows, not ${bundle.images.length} images × ${cells} cells.`,
        'Run the explanation again: this run folder is damaged.',
      );
    }
    const out = h.outputs[0].name;
    const isProbability = h.nodes.some((n) => n.opType === 'Softmax' && n.outputs.includes(out));
    return new WhatIf(bundle, coefficients, session, cells, bundle.layer.spatial ? [1, lh, lw, r] : [1, r], isProbability);
  }

  /** h's answer for image `image` with concept c scaled by scales[c] (0…MAX_SCALE). */
  async query(image: number, scales: readonly number[]): Promise<WhatIfAnswer> {
    const r = this.bundle.concepts.length;
    if (!Number.isInteger(image) || image < 0 || image >= this.bundle.images.length) throw new CraftError('usage', `No image ${image} in this run.`);
    if (scales.length !== r || !scales.every((s) => Number.isFinite(s) && s >= 0 && s <= MAX_SCALE)) {
      throw new CraftError('usage', `What-if needs ${r} scales between 0 and ${MAX_SCALE}.`);
    }
    const n = this.cells * r;
    const coefficients = Float32Array.from(this.coefficients.data.subarray(image * n, (image + 1) * n));
    // Two rows of masks: the scales asked for, and all ones (the image's own reconstruction).
    const masks = Float32Array.from([...scales, ...new Array<number>(r).fill(1)]);
    const out = this.session.outputNames[0];
    const logits = (await runFloat(this.session, { coeffs: { data: coefficients, dims: this.coeffDims }, masks: { data: masks, dims: [2, r] } }, [out]))[out]
      .data;
    const classes = logits.length / 2;
    const asked = this.scores(logits.subarray(0, classes));
    const own = this.scores(logits.subarray(classes));
    const target = this.bundle.class.index;
    return {
      image,
      scales: [...scales],
      target: asked[target],
      top: [...asked].sort((a, b) => b.probability - a.probability).slice(0, 5),
      reconstruction: { target: own[target], top: [...own].sort((a, b) => b.probability - a.probability).slice(0, 5) },
    };
  }

  private scores(logits: Float32Array): WhatIfScore[] {
    if (this.isProbability) return Array.from(logits, (p, index) => ({ index, label: this.bundle.labels?.[index], logit: p, probability: p }));
    const max = Math.max(...logits);
    const exp = Array.from(logits, (v) => Math.exp(v - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    return Array.from(logits, (logit, index) => ({ index, label: this.bundle.labels?.[index], logit, probability: exp[index] / sum }));
  }

  async close(): Promise<void> {
    await this.session.release().catch(() => undefined);
  }
}

/** h of the run: its own file when g and h were given separately, else cut from the model again. */
function readH(bundle: ResultsBundle): OnnxModel {
  const file = bundle.model.hPath ?? bundle.model.path;
  let model: OnnxModel;
  try {
    model = parseModel(new Uint8Array(fs.readFileSync(file)));
  } catch (e) {
    throw new CraftError(
      'model',
      `The run's model ${file} cannot be read any more (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`,
      'What-if runs the model: put it back where the run found it.',
    );
  }
  if (bundle.model.hPath) return model;
  return extractSubgraph(model, [bundle.layer.name], [bundle.model.outputName]);
}
