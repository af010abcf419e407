// Slim entry: loads nothing by itself. Pass `wasmModule`, `wasmBinary`, `instantiateWasm` or
// `locateFile` to `init()` so a bundler, CDN or edge runtime provides nitro.wasm (exported as
// '@gonitro/nitro/nitro.wasm'; the BLS/beacon half as '@gonitro/nitro/nitro-bls.wasm', passed as
// `blsWasm` or found through `locateFile`).
export * from './index.js';
