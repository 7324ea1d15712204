// The floor of a workload: the bare onnxruntime time of the forward passes CRAFT cannot avoid, with the
// same sessions options and batch size: g on every resized crop, g on every full image, and h on the
// N·M perturbed activations (M = nb_design·(r+2)). Inputs are synthetic tensors of the right shapes
// (timing does not depend on values), batched as the pipeline batches them. Prints {"g_crops": s, "g_images": s, "h_designs": s, "total": s}.
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import { parseModel } from '../src/craft/onnx/model';
import { extractSubgraph } from '../src/craft/onnx/subgraph';

interface FloorArgs {
  model: string;
  layer: string;
  size: [number, number];
  images: number;
  cropsPerImage: number;
  concepts: number;
  designs: number;
  /** Batches as the pipeline uses them (effectiveBatch), so the floor runs the same forward passes. */
  gBatch: number;
  hBatch: number;
  /** Execution provider (default cpu). */
  provider?: string;
}

async function timeRuns(session: ort.InferenceSession, input: string, itemDims: number[], count: number, batch: number): Promise<number> {
  const itemSize = itemDims.reduce((a, b) => a * b, 1);
  const full = new Float32Array(batch * itemSize);
  for (let k = 0; k < full.length; k++) full[k] = ((k * 2654435761) % 1000) / 1000;
  let seconds = 0;
  for (let start = 0; start < count; start += batch) {
    const b = Math.min(batch, count - start);
    const t = new ort.Tensor('float32', full.subarray(0, b * itemSize), [b, ...itemDims]);
    const t0 = performance.now();
    await session.run({ [input]: t });
    seconds += (performance.now() - t0) / 1000;
  }
  return seconds;
}

async function run(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as FloorArgs;
  const model = parseModel(new Uint8Array(fs.readFileSync(a.model)));
  const input = model.inputs[0].name;
  const output = model.outputs[0].name;
  const opts: ort.InferenceSession.SessionOptions = { executionProviders: [a.provider ?? 'cpu'], logSeverityLevel: 3, graphOptimizationLevel: 'all' };
  const g = await ort.InferenceSession.create(extractSubgraph(model, [input], [a.layer]).bytes, opts);
  const h = await ort.InferenceSession.create(extractSubgraph(model, [a.layer], [output]).bytes, opts);
  const [H, W] = a.size;
  const probe = await g.run({ [input]: new ort.Tensor('float32', new Float32Array(3 * H * W), [1, 3, H, W]) });
  const layerDims = probe[a.layer].dims.slice(1).map(Number);
  const M = a.designs * (a.concepts + 2);
  // One untimed pass each: a GPU provider compiles its kernels on the first run.
  await timeRuns(g, input, [3, H, W], 1, 1);
  await timeRuns(h, h.inputNames[0], layerDims, 1, 1);
  const gCrops = await timeRuns(g, input, [3, H, W], a.images * a.cropsPerImage, a.gBatch);
  const gImages = await timeRuns(g, input, [3, H, W], a.images, a.gBatch);
  let hDesigns = 0;
  for (let i = 0; i < a.images; i++) hDesigns += await timeRuns(h, h.inputNames[0], layerDims, M, a.hBatch);
  process.stdout.write(JSON.stringify({ g_crops: gCrops, g_images: gImages, h_designs: hDesigns, total: gCrops + gImages + hDesigns }) + '\n');
}

run().catch((e) => {
  process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
  process.exit(1);
});
