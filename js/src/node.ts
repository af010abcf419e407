// Node.js entry: reads nitro.wasm from beside this file and hands the bytes to the loader
// (Emscripten 3.1.6's fetch path misreads local files under Node 18+).
import { readFile } from 'node:fs/promises';
import { setLoader } from './wasm.js';

setLoader(async (options) => {
  if (options.wasmBinary) return options;
  const wasmBinary = await readFile(new URL('./wasm/nitro.wasm', import.meta.url));
  return { ...options, wasmBinary };
});

export * from './index.js';
// Node-only additions: storage on the file system.
export { fileStore } from './store-file.js';
export { postgresStore, type PostgresStoreOptions } from './store-postgres.js';
export { nats, type NatsBrokerOptions } from './broker/nats.js';
export { mdns, type MdnsOptions } from './discovery/mdns.js';
export { file } from './config-file.js';
