/**
 * The 'nmf' stage: A ≈ U·W on the crop activations (docs/method.md §3), sklearn's NMF with its
 * defaults. The products with A run on ONNX Runtime when they are big enough to matter.
 */
import { writeTopCrops } from '../bundle/pictures';
import { fitNmf, type NmfFit } from '../math/nmf';
import { fromFlat } from '../math/matrix';
import { jsProducts, type DataProducts } from '../math/nmf-products';
import { ortProducts } from '../onnx/products';
import type { SessionFactory } from '../onnx/sessions';
import type { Run } from '../run';
import type { Activations } from './activations';
import type { Model } from './model';
import type { CropEntry } from '../../protocol';

/**
 * Below this many multiply-adds per product the float64 JS products are as fast as ONNX Runtime's once
 * its session is built. Above it ORT wins: 2000 × 64 Fashion-MNIST crops, r = 10 (1.3 M): 0.9 s → 0.6 s.
 */
const ORT_PRODUCTS_FROM = 250_000;

/** Products with X on ONNX Runtime when they are big enough to matter, else exact float64 JS. */
export async function productsFor(X: Float32Array, n: number, p: number, r: number, factory: SessionFactory): Promise<DataProducts> {
  if (n * p * r >= ORT_PRODUCTS_FROM) return ortProducts(X, n, p, factory);
  return jsProducts(fromFlat(X, n, p));
}

export interface Factorisation extends NmfFit {
  /** Each concept's top crops, cut and encoded in the background (they need only U) while the next passes run. */
  topCrops: Promise<CropEntry[][]>;
}

export async function nmfStage(run: Run, m: Model, acts: Activations): Promise<Factorisation> {
  const o = run.options;
  run.stage('nmf');
  // From the cache when these images were factorised with these settings before (run-cache.ts).
  const fit = await run.cache.fit(
    acts.images.map((im) => im.file),
    async () => {
      const products = await productsFor(acts.A.view(), acts.A.rows, m.channels, o.concepts, m.factory);
      try {
        return await fitNmf(products, {
          components: o.concepts,
          tol: o.tol,
          maxIter: o.maxIter,
          alphaW: o.alphaW,
          signal: run.signal,
          onIteration: (it, max) => run.progress('nmf', it, max, 'iterations'),
        });
      } finally {
        await products.dispose();
      }
    },
  );
  run.progress('nmf', fit.iterations, fit.iterations, 'iterations');
  run.log(
    `NMF${fit.cached ? ' (from the cache)' : ''}: ${fit.iterations} iterations${fit.converged ? '' : ' (stopped at max_iter, as the reference usually does)'}, relative reconstruction error ${fit.relativeError.toFixed(4)}.`,
  );
  const topCrops = run.inBackground(
    writeTopCrops({
      U: fit.U,
      grid: m.grid,
      top: o.topCrops,
      pixels: (i) => run.pixels.read(i),
      preprocess: m.preprocess,
      write: run.write,
      signal: run.signal,
    }),
  );
  return { ...fit, topCrops };
}
