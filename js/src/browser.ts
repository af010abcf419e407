// Browser and worker entry: fetches nitro.wasm relative to this module. No Node built-ins here.
import { setLoader } from './wasm.js';

setLoader(async (options) => {
  if (options.wasmBinary || options.locateFile) return options;
  const base = new URL('./wasm/', import.meta.url);
  return { ...options, locateFile: (path: string) => new URL(path, base).href };
});

export * from './index.js';
// Browser-only additions: storage in IndexedDB.
export { indexedDbStore } from './store-indexeddb.js';
