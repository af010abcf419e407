// Node.js entry: reads nitro.wasm and nitro-bls.wasm from beside this file and hands the bytes to
// the loader (Emscripten 3.1.6's fetch path misreads local files under Node 18+). Node loads the
// BLS/beacon half during init(): download size does not matter here, and Beacon.verify stays
// usable right after `await init()`.
import { readFile } from 'node:fs/promises';
import { setLoader } from './wasm.js';

setLoader(async (options) => {
  const read = (file: string) => readFile(new URL(`./wasm/${file}`, import.meta.url));
  const core = options.instantiateWasm || options.wasmModule || options.wasmBinary ? {} : { wasmBinary: await read('nitro.wasm') };
  const bls = options.blsWasm || options.locateFile ? {} : { blsWasm: await read('nitro-bls.wasm').catch(() => undefined) };
  return { bls: true, ...options, ...core, ...bls };
});

export * from './index.js';
// Node-only additions: storage on the file system.
export { fileStore } from './store-file.js';
export { postgresStore, type PostgresStoreOptions } from './store-postgres.js';
export { nats, type NatsBrokerOptions } from './broker/nats.js';
export { mdns, type MdnsOptions } from './discovery/mdns.js';
export { file } from './config-file.js';
