import * as vscode from 'vscode';
import { DEFAULTS } from '../craft/options';
import type { ProviderRequest } from '../protocol';

/** The user's defaults (settings `craft.*`); the workspace config file and command arguments win over them. */
export interface CraftSettings {
  provider: ProviderRequest;
  concepts: number;
  /** 0 = automatic: min(64, half the model input's smaller side). */
  patchSize: number;
  batchSize: number;
  designs: number;
  /** Results root, relative to the workspace folder (or absolute). */
  resultsFolder: string;
}

export function readSettings(scope?: vscode.Uri): CraftSettings {
  const c = vscode.workspace.getConfiguration('craft', scope);
  const int = (key: string, fallback: number, min: number): number => {
    const v = c.get<unknown>(key);
    return typeof v === 'number' && Number.isInteger(v) && v >= min ? v : fallback;
  };
  const provider = c.get<string>('provider');
  const folder = c.get<string>('resultsFolder');
  return {
    provider: provider === 'cpu' || provider === 'cuda' || provider === 'auto' ? provider : DEFAULTS.provider,
    concepts: int('concepts', DEFAULTS.concepts, 1),
    patchSize: int('patchSize', 0, 0),
    batchSize: int('batchSize', DEFAULTS.batch, 1),
    designs: int('designs', DEFAULTS.designs, 2),
    resultsFolder: typeof folder === 'string' && folder.trim() ? folder.trim() : '.craft',
  };
}

/** The automatic patch size: CRAFT's notebooks use 64 px for 224-px inputs; small inputs get half their side. */
export function autoPatch(size: [number, number]): number {
  return Math.max(1, Math.min(DEFAULTS.patch, Math.floor(Math.min(size[0], size[1]) / 2)));
}
