// `npm run bench -- <name> [args]` runs bench/<name>.mjs; with no name, every benchmark in turn.
// Each prints Markdown tables (medians over several samples) for BENCHMARKS.md.
import { readdirSync } from 'node:fs';
import os from 'node:os';

const here = new URL('.', import.meta.url);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && !['run.mjs', 'lib.mjs'].includes(f))
  .map((f) => f.replace(/\.mjs$/, ''))
  .sort();

const [name, ...args] = process.argv.slice(2);
const chosen = name ? [name] : available;
for (const n of chosen) {
  if (!available.includes(n)) {
    console.error(`unknown benchmark '${n}'; available: ${available.join(', ')}`);
    process.exit(2);
  }
}
console.log(`# Nitro benchmarks — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString().slice(0, 10)}`);
for (const n of chosen) {
  console.log(`\n## ${n}  (npm run bench -- ${[n, ...args].join(' ')})\n`);
  const mod = await import(new URL(`./${n}.mjs`, here));
  await mod.run(args);
}
