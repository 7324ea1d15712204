/**
 * A separate process for the bundle writer tests (real concurrency, real kills):
 *   race ROOT NAME START_MS ROUNDS GAP_MS ID  commit run NAME-rK at START_MS + K·GAP_MS, K = 0..ROUNDS-1
 *   hold ROOT NAME                            open a partial folder, print it, wait to be killed
 *   begin ROOT NAME                           open a partial folder (cleaning stale ones), print it, abort
 *   observe ROOT                              watch ROOT until ROOT/.stop exists; print what a reader should never see
 */
import * as fs from 'fs';
import * as path from 'path';
import { BundleWriter, LATEST_FILE, RESULTS_FILE } from '../../../src/craft/bundle/writer';
import { tinyBundle } from '../bundle-helpers';

const now = () => performance.timeOrigin + performance.now();

/** Sleeps most of the way, then spins: processes meet within a few microseconds of `at`. */
async function until(at: number): Promise<void> {
  const ahead = at - now() - 3;
  if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
  while (now() < at) {
    /* spin */
  }
}

async function race(root: string, name: string, start: number, rounds: number, gap: number, id: string): Promise<void> {
  const results: { round: number; dir?: string; error?: string }[] = [];
  for (let k = 0; k < rounds; k++) {
    const w = await BundleWriter.begin(root, `${name}-r${k}`);
    await w.writeFile('owner.txt', id);
    await until(start + k * gap);
    try {
      results.push({ round: k, dir: await w.commit(tinyBundle(id)) });
    } catch (e) {
      await w.abort();
      results.push({ round: k, error: (e as Error).message });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

/** Every state of ROOT a reader may see: run folders complete, latest.json whole and pointing at one. */
function observe(root: string): void {
  const violations = new Set<string>();
  const complete = new Set<string>(); // a run folder, once seen complete, never changes
  let looks = 0;
  let events = 0;
  // In-place writes of latest.json show as 'change' events on it; a rename into place does not.
  const watcher = fs.watch(root, (event, file) => {
    events++;
    if (event === 'change' && file === LATEST_FILE) violations.add('latest.json was modified in place');
  });
  const read = (file: string): string | undefined => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (e) {
      violations.add(`${path.relative(root, file)}: ${(e as NodeJS.ErrnoException).code}`);
      return undefined;
    }
  };
  const check = (): void => {
    for (const name of fs.readdirSync(root)) {
      if (name.startsWith('.') || complete.has(name)) continue;
      const file = name === LATEST_FILE ? path.join(root, name) : path.join(root, name, RESULTS_FILE);
      const text = read(file);
      if (text === undefined) continue;
      try {
        const value = JSON.parse(text) as { run?: string };
        if (name !== LATEST_FILE) complete.add(name);
        else if (!fs.existsSync(path.join(root, String(value.run), RESULTS_FILE))) violations.add(`latest.json points at ${value.run}, which is not complete`);
      } catch {
        violations.add(`${path.relative(root, file)} is not whole JSON (${text.length} bytes)`);
      }
    }
    looks++;
  };
  const end = Date.now() + 120_000;
  const stop = path.join(root, '.stop');
  const loop = (): void => {
    // Bursts of a few milliseconds, with a turn of the event loop between them for the watcher.
    const until = Date.now() + 5;
    while (Date.now() < until) check();
    if (Date.now() < end && !fs.existsSync(stop)) return void setImmediate(loop);
    // Let the last events arrive before closing the watcher.
    setTimeout(() => {
      watcher.close();
      process.stdout.write(JSON.stringify({ looks, events, violations: [...violations] }));
    }, 200);
  };
  process.stdout.write('watching\n');
  loop();
}

async function main(): Promise<void> {
  const [mode, root, ...rest] = process.argv.slice(2);
  switch (mode) {
    case 'race':
      return race(root, rest[0], Number(rest[1]), Number(rest[2]), Number(rest[3]), rest[4]);
    case 'hold': {
      const w = await BundleWriter.begin(root, rest[0]);
      await w.writeFile('crops/c0_0.png', 'x');
      process.stdout.write(`${w.tempDir}\n`);
      setInterval(() => undefined, 1000);
      return;
    }
    case 'begin': {
      const w = await BundleWriter.begin(root, rest[0]);
      process.stdout.write(`${w.tempDir}\n`);
      await w.abort();
      return;
    }
    case 'observe':
      return observe(root);
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
