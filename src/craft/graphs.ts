/** The g graphs the two passes over the images run, shared by the pipeline and its tests. */
import type { Matrix } from './math/matrix';
import type { OnnxModel } from './onnx/model';
import type { PreparedModel } from './stages/model';
import { withInputResize, withProjection, withSpatialMean } from './onnx/build';

/** The crops input of cropsGraph. */
export const CROPS = 'crops';

/**
 * First pass: P×P crops → bilinear resize to the model input (torch align_corners=False,
 * craft-reference §2) → g → spatial mean ('pooled'), or the layer itself for vector activations.
 */
export function cropsGraph(m: PreparedModel, patch: number): { model: OnnxModel; output: string } {
  const [H, W] = m.preprocess.size;
  const resized = withInputResize(m.g, { height: H, width: W, layout: m.preprocess.layout, cropHeight: patch, cropWidth: patch, inputName: CROPS });
  return m.spatial
    ? { model: withSpatialMean(resized, { layout: m.layerLayout, replace: true }), output: 'pooled' }
    : { model: resized, output: m.layer };
}

/** Second pass: whole images → g → X·Wᵀ per latent position ('projected') and the smallest activation ('minimum'). */
export function projectionGraph(m: PreparedModel, W: Matrix): OnnxModel {
  return withProjection(m.g, { W: { data: Float32Array.from(W.data), rows: W.rows, cols: W.cols }, spatial: m.spatial, layout: m.layerLayout });
}
