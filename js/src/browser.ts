// Browser and worker entry: fetches nitro.wasm (and, on first BLS use, nitro-bls.wasm) relative to
// this module. The URLs are literal `new URL(..., import.meta.url)` so bundlers (Vite, webpack,
// Parcel) find the files and emit them as assets. No Node built-ins here.
import { setLoader } from './wasm.js';

setLoader(async (options) => {
  if (options.locateFile || options.instantiateWasm || (options.wasmBinary ?? options.wasmModule)) return options;
  const core = new URL('./wasm/nitro.wasm', import.meta.url).href;
  const bls = new URL('./wasm/nitro-bls.wasm', import.meta.url).href;
  return { ...options, locateFile: (path: string) => (path === 'nitro-bls.wasm' ? bls : core) };
});

export * from './index.js';
// Browser-only additions: storage in IndexedDB.
export { indexedDbStore } from './store-indexeddb.js';
