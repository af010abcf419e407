// Slim entry: loads nothing by itself. Pass `wasmBinary` or `locateFile` to `init()` so a bundler
// or CDN serves nitro.wasm (exported as '@gonitro/nitro/nitro.wasm').
export * from './index.js';
