// Node.js entry: reads nitro.wasm from beside this file and hands the bytes to the loader
// (Emscripten 3.1.6's fetch path misreads local files under Node 18+). The BLS/beacon half,
// nitro-bls.wasm, is read and instantiated synchronously on its first use: Beacon.verify and the
// like stay usable right after `await init()`, and a process that never needs BLS does not hold
// its compiled code.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setBlsReader, setLoader } from './wasm.js';

const wasmFile = (file: string) => new URL(`./wasm/${file}`, import.meta.url);

setLoader(async (options) => {
  const core = options.instantiateWasm || options.wasmModule || options.wasmBinary ? {} : { wasmBinary: await readFile(wasmFile('nitro.wasm')) };
  return { ...options, ...core };
});
setBlsReader(() => readFileSync(wasmFile('nitro-bls.wasm')));

export * from './index.js';
// Node-only additions: storage on the file system.
export { fileStore } from './store-file.js';
export { postgresStore, type PostgresStoreOptions } from './store-postgres.js';
export { nats, type NatsBrokerOptions } from './broker/nats.js';
export { mdns, type MdnsOptions } from './discovery/mdns.js';
export { file } from './config-file.js';
