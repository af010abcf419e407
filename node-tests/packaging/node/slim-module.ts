// The slim entry with compiled modules, as an edge runtime passes them: init({ wasmModule }) and loadBls(blsModule).
import { init, loadBls, Beacon, Doc } from '@gonitro/nitro/slim';
import type { BeaconVerifyInput } from '@gonitro/nitro/slim';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const compile = async (path: string) => WebAssembly.compile(await readFile(fileURLToPath(import.meta.resolve(path))));
const beacon = JSON.parse(process.argv[2]) as BeaconVerifyInput;
await init({ wasmModule: await compile('@gonitro/nitro/nitro.wasm') });
const before = (() => {
  try { Beacon.verify(beacon); return 'verified'; } catch (e) { return (e as { code?: string }).code ?? String(e); }
})();
await loadBls(await compile('@gonitro/nitro/nitro-bls.wasm'));
const doc = new Doc();
doc.getMap('m').set('k', 1);
console.log(JSON.stringify({ before, verified: Beacon.verify(beacon), map: doc.getMap('m').toJSON() }));
