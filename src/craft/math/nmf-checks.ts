/** Input checks of the NMF (sklearn check_non_negative / _check_params), with messages for CRAFT users. */
import { CancelledError } from '../errors';
import { type Matrix } from './matrix';
import { DataProducts } from './nmf-products';

/** The engine's one cancellation error (errors.ts), thrown between iterations. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Input checks of sklearn's check_non_negative / _check_params, with messages for CRAFT users. */
export function checkData(X: DataProducts): void {
  if (X.rows < 1 || X.cols < 1) {
    throw new Error(`NMF needs a non-empty activation matrix, got ${X.rows} crops × ${X.cols} channels.`);
  }
  if (!Number.isFinite(X.minValue) || !Number.isFinite(X.sumSquares)) {
    throw new Error('NMF input contains NaN or infinite activations; check the model and the chosen layer.');
  }
  if (X.minValue < 0) {
    throw new Error(
      `NMF needs non-negative activations, but the smallest value is ${X.minValue}. ` +
        'Pick a layer whose outputs are non-negative (e.g. right after a ReLU), or apply a ReLU to the activations.',
    );
  }
}

/** Guards against a DataProducts backend that returns the wrong shape (it would otherwise read as NaN). */
export function checkShape(M: Matrix, rows: number, cols: number, what: string): Matrix {
  if (M.rows !== rows || M.cols !== cols || M.data.length !== rows * cols) {
    throw new Error(`NMF: the data backend returned ${what} as ${M.rows}x${M.cols} (${M.data.length} values), expected ${rows}x${cols}.`);
  }
  return M;
}

export function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`NMF option ${name} must be an integer ≥ ${min}, got ${value}.`);
}

export function checkNonNegative(name: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`NMF option ${name} must be a finite number ≥ 0, got ${value}.`);
}
