/**
 * The importance stage's ONNX side: h applied to the masked reconstructions (U ⊙ m)·W of one image
 * (docs/method.md §5.2). When h starts with affine operators (a convolution, global pooling, a linear
 * classifier...) the reconstruction goes through that prefix as r + 1 maps and the masks mix its
 * results (onnx/affine.ts): per image the prefix runs r + 1 times instead of once per design.
 * The pushed-through graph is checked against the plain one on the first image before it is used.
 */
import type * as ort from 'onnxruntime-node';
import type { PerturbedLogits } from '../stages/importance';
import type { Matrix } from '../math/matrix';
import type { OnnxModel } from './model';
import type { SessionFactory } from './sessions';
import { runFloat } from './sessions';
import { affinePrefix } from './affine';
import { withReconstruction } from './build';
import { withOutputs } from './subgraph';

export interface PerturbedSetup {
  h: OnnxModel;
  W: Matrix;
  /** [h, w] of the latent grid, or null for vector activations. */
  spatial: [number, number] | null;
  layout: 'NCHW' | 'NHWC';
  classes: number;
  /** Mask block of the plain form (memory-capped batch, or the model's fixed batch). */
  batch: number;
  fixedBatch?: number;
  /** Most masks a call may take when the mixed tensor is small (the design size). */
  designRows: number;
  /** Caps a block so that block × itemFloats stays bounded (pipeline effectiveBatch). */
  capBlock: (requested: number, itemFloats: number) => number;
  /** Coefficients (h·w·r) and masks of the first image, for the check. */
  probe: { coefficients: Float32Array; masks: Float32Array };
  factory: SessionFactory;
  log: (line: string) => void;
}

/** Relative gap between the two forms above which the pushed-through graph is not used. */
const AGREEMENT = 1e-3;

export async function perturbedLogits(s: PerturbedSetup): Promise<{ logits: PerturbedLogits; sessions: ort.InferenceSession[]; through?: string }> {
  const r = s.W.rows;
  const W = { data: Float32Array.from(s.W.data), rows: r, cols: s.W.cols };
  const spatial = s.spatial ? { height: s.spatial[0], width: s.spatial[1] } : null;
  const coeffDims = s.spatial ? [1, s.spatial[0], s.spatial[1], r] : [1, r];
  const make = (session: ort.InferenceSession, maxBlock: number): PerturbedLogits => {
    const out = session.outputNames[0];
    return {
      classes: s.classes,
      maxBlock,
      run: async (coefficients, masks, block) =>
        (await runFloat(session, { coeffs: { data: coefficients, dims: coeffDims }, masks: { data: masks, dims: [block, r] } }, [out]))[out].data,
    };
  };
  const plainSession = await s.factory.create(withReconstruction(s.h, { W, spatial, layout: s.layout }).bytes, 'h with the concept reconstruction', {
    spinning: false,
  });
  const plain = make(plainSession, s.batch);
  const prefix = s.fixedBatch ? null : affinePrefix(s.h);
  if (!prefix) return { logits: plain, sessions: [plainSession] };

  let throughSession: ort.InferenceSession | undefined;
  try {
    const model = withOutputs(withReconstruction(s.h, { W, spatial, layout: s.layout, through: prefix.output }), [prefix.output]);
    throughSession = await s.factory.create(model.bytes, 'h with the reconstruction through its affine prefix', { spinning: false });
    const block = Math.min(s.batch, s.probe.masks.length / r);
    const masks = s.probe.masks.subarray(0, block * r);
    const out = throughSession.outputNames[0];
    const got = await runFloat(throughSession, { coeffs: { data: s.probe.coefficients, dims: coeffDims }, masks: { data: masks, dims: [block, r] } }, [
      out,
      prefix.output,
    ]);
    const want = await plain.run(s.probe.coefficients, masks, block);
    let gap = 0;
    let scale = 1;
    got[out].data.forEach((v, i) => {
      gap = Math.max(gap, Math.abs(v - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    });
    if (!(gap <= AGREEMENT * scale)) {
      s.log(
        `Importance: h's affine start (up to ${prefix.output}) disagrees with the full reconstruction by ${gap.toPrecision(3)}; using the full reconstruction.`,
      );
      await throughSession.release();
      return { logits: plain, sessions: [plainSession] };
    }
    const itemFloats = got[prefix.output].dims.slice(1).reduce((a, b) => a * b, 1);
    await plainSession.release();
    s.log(
      `Importance: h's affine start (${prefix.nodes.map((n) => n.opType).join(' → ')}) runs on the ${r} concept maps, the masks mix its output ${prefix.output}.`,
    );
    return { logits: make(throughSession, s.capBlock(s.designRows, itemFloats)), sessions: [throughSession], through: prefix.output };
  } catch (e) {
    // Not every affine-looking prefix takes a batch of r + 1 maps (a Reshape to a fixed batch, say).
    await throughSession?.release();
    s.log(
      `Importance: the full reconstruction goes through h (its affine start could not be used: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}).`,
    );
    return { logits: plain, sessions: [plainSession] };
  }
}
