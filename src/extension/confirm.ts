/**
 * The confirmation before a run the user started with remembered choices (craft.config.json): one
 * quick pick saying what will run (model, images and how many, class, layer, concepts, provider).
 * Enter runs; any other row asks for that choice again and comes back here with the new plan.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { CraftError } from '../craft/errors';
import { listImages } from '../craft/images/list';
import { fromText, option } from '../craft/option-table';
import { PROVIDER_REQUESTS, type ProviderRequest } from '../protocol';
import type { EngineQueries, ExplainArgs, RunPlan } from './flow';
import { pickClass, pickImages, pickLayer, pickModel, quickPick, title } from './pickers';
import { readSettings } from './settings';
import { classForFolder } from './suggest';
import type { Choices } from './workspaceConfig';

type Field = 'model' | 'images' | 'class' | 'layer' | 'concepts' | 'provider';

interface Row extends vscode.QuickPickItem {
  field?: Field | 'run';
}

/**
 * Shows `plan` until the user runs it (returns the plan to run, with what to remember) or dismisses
 * it (undefined: nothing runs, nothing is remembered). `replan` resolves the run again with changed
 * arguments (it may prompt, e.g. for the images of another model).
 */
export async function confirmPlan(
  plan: RunPlan,
  args: ExplainArgs,
  engine: EngineQueries,
  replan: (args: ExplainArgs) => Promise<RunPlan | undefined>,
): Promise<RunPlan | undefined> {
  let current = plan;
  let currentArgs = args;
  // Concepts and provider chosen here are remembered too (arguments of scripts are not).
  const chosen: Choices = {};
  for (;;) {
    const field = await ask(current);
    if (!field) return undefined;
    if (field === 'run') return { ...current, remember: { ...current.remember, ...chosen } };
    const value = await change(field, current, engine);
    if (value === undefined) continue;
    const nextArgs: ExplainArgs = { ...currentArgs, [field]: value };
    // A prompt dismissed while re-planning (e.g. the class of another model) leaves the plan as it was.
    const next = await replan(nextArgs);
    if (!next) continue;
    if (field === 'concepts') chosen.concepts = value as number;
    if (field === 'provider') chosen.provider = value as ProviderRequest;
    current = next;
    currentArgs = nextArgs;
  }
}

function shortPath(p: string): string {
  return vscode.workspace.asRelativePath(p, (vscode.workspace.workspaceFolders?.length ?? 0) > 1);
}

/** The images a run will read (as the engine lists them), or the reason they cannot be counted. */
async function countImages(plan: RunPlan): Promise<{ count?: number; problem?: string }> {
  try {
    const files = await listImages(plan.options.images, { exclude: [plan.options.out] });
    return { count: files.length };
  } catch (e) {
    return { problem: e instanceof Error ? e.message : String(e) };
  }
}

async function ask(plan: RunPlan): Promise<Field | 'run' | undefined> {
  const o = plan.options;
  const { count, problem } = await countImages(plan);
  const used = count !== undefined && o.maxImages !== undefined && o.maxImages < count ? o.maxImages : count;
  const images = count === undefined ? 'images' : `${used} image${used === 1 ? '' : 's'}`;
  const cls = `${plan.classIndex !== undefined && plan.classLabel !== `class ${plan.classIndex}` ? `${plan.classIndex} ` : ''}${plan.classLabel}`;
  const folderClass = classForFolder(o.images, plan.labels);
  const mismatch =
    folderClass !== undefined && plan.classIndex !== undefined && folderClass !== plan.classIndex
      ? `$(warning) The folder name "${path.basename(o.images)}" matches class ${folderClass} ${plan.labels?.[folderClass] ?? ''}.`
      : undefined;
  const rows: Row[] = [
    { label: '$(play) Run', description: `${plan.classLabel} on ${images} of ${path.basename(o.images)}`, field: 'run' },
    { label: 'or change', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(file) Model', description: shortPath(o.model), field: 'model' },
    {
      label: '$(folder) Images',
      description: `${shortPath(o.images)} · ${count === undefined ? 'cannot be listed' : `${count} image${count === 1 ? '' : 's'}`}${used !== count ? ` (the first ${used} used)` : ''}`,
      detail: problem ? `$(warning) ${problem}` : undefined,
      field: 'images',
    },
    { label: '$(symbol-class) Class', description: cls, detail: mismatch, field: 'class' },
    { label: '$(layers) Layer', description: o.layer ?? 'the default layer', field: 'layer' },
    { label: '$(symbol-number) Concepts', description: String(o.concepts), field: 'concepts' },
    { label: '$(chip) Provider', description: o.provider, field: 'provider' },
  ];
  const picked = await quickPick(rows, {
    title: title('run with these choices?'),
    placeHolder: 'Enter runs; pick a row to change it first (the setting craft.confirmBeforeRun turns this question off)',
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  return picked?.field;
}

/** Asks for a new value of one choice; undefined when dismissed. */
async function change(field: Field, plan: RunPlan, engine: EngineQueries): Promise<unknown> {
  const o = plan.options;
  const resultsFolder = readSettings(vscode.Uri.file(plan.folder)).resultsFolder;
  switch (field) {
    case 'model':
      return pickModel(o.model, resultsFolder);
    case 'images':
      return pickImages(o.images, resultsFolder);
    case 'class':
      return pickClass(await engine.describe(o.model, o.labelsFile), 'classId' in o ? o.classId : undefined, o.images);
    case 'layer': {
      const listing = await engine.layers({ model: o.model, size: o.size, images: o.images, preset: o.preset });
      return pickLayer(listing, o.layer);
    }
    case 'concepts': {
      const spec = option('concepts');
      const text = await vscode.window.showInputBox({
        title: title('concepts'),
        prompt: `Number of concepts (NMF rank), ${spec.min}–${spec.max}.`,
        value: String(o.concepts),
        ignoreFocusOut: true,
        validateInput: (t) => {
          try {
            fromText(spec, t.trim(), 'Concepts');
            return undefined;
          } catch (e) {
            return e instanceof CraftError ? e.message : String(e);
          }
        },
      });
      return text === undefined ? undefined : fromText(spec, text.trim(), 'Concepts');
    }
    case 'provider': {
      const help = option('provider').choiceHelp ?? [];
      const rows = PROVIDER_REQUESTS.map((p, i) => ({ label: p, description: p === o.provider ? 'current' : undefined, detail: help[i], provider: p }));
      rows.sort((a, b) => Number(b.provider === o.provider) - Number(a.provider === o.provider));
      const picked = await quickPick(rows, { title: title('execution provider'), placeHolder: 'Which execution provider?', ignoreFocusOut: true });
      return picked?.provider;
    }
  }
}
