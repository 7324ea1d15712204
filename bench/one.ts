// One benchmark run in its own process, so its peak RSS is its own: explain() with the options given
// as JSON in argv[2]; prints {"timings": {...}, "maxRssMB": N, "importances": [...]} on stdout.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { explain } from '../src/craft/explain';
import { DEFAULTS, type ExplainOptions } from '../src/craft/options';

async function run(): Promise<void> {
  const given = JSON.parse(process.argv[2]) as Partial<ExplainOptions>;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-bench-'));
  try {
    const { bundle } = await explain({ ...DEFAULTS, out, ...given } as ExplainOptions);
    const maxRssMB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(
      JSON.stringify({
        timings: bundle.timings,
        maxRssMB,
        images: bundle.images.length,
        crops: bundle.images.length * bundle.settings.cropsPerImage,
        provider: bundle.provider,
        providerDetails: bundle.providerDetails,
        ranking: bundle.ranking,
        importances: bundle.importances,
      }) + '\n',
    );
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

run().catch((e) => {
  process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
  process.exit(1);
});
