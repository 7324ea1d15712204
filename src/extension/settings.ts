import * as vscode from 'vscode';
import { DEFAULTS } from '../craft/options';
import { fromJson, option, type OptionName, type OptionSpec } from '../craft/option-table';
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
  /** Cache size limit in MB (0: no cache). */
  cacheSize: number;
}

/**
 * One setting, checked with the option table's type and bounds (the setting's own where it differs,
 * e.g. craft.patchSize allows 0). Unset or blank: the default. A value out of bounds is a usage
 * error naming the setting, rather than a silent fallback that would run with other numbers.
 */
export function readSetting(name: OptionName, scope?: vscode.Uri): unknown {
  const o: OptionSpec = option(name);
  const s = o.setting!;
  const raw = vscode.workspace.getConfiguration('craft', scope).get<unknown>(s.key);
  if (raw === undefined || raw === null || (typeof raw === 'string' && !raw.trim())) return s.default ?? o.default;
  const v = fromJson({ ...o, min: s.min ?? o.min }, raw, `The setting "craft.${s.key}"`);
  return typeof v === 'string' ? v.trim() : v;
}

export function readSettings(scope?: vscode.Uri): CraftSettings {
  return {
    provider: (readSetting('provider', scope) as ProviderRequest | undefined) ?? DEFAULTS.provider,
    concepts: readSetting('concepts', scope) as number,
    patchSize: readSetting('patch', scope) as number,
    batchSize: readSetting('batch', scope) as number,
    designs: readSetting('designs', scope) as number,
    resultsFolder: readSetting('out', scope) as string,
    cacheSize: readSetting('cacheSize', scope) as number,
  };
}

/** The automatic patch size: CRAFT's notebooks use 64 px for 224-px inputs; small inputs get half their side. */
export function autoPatch(size: [number, number]): number {
  return Math.max(1, Math.min(DEFAULTS.patch, Math.floor(Math.min(size[0], size[1]) / 2)));
}
