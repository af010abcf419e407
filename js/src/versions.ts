// Toolchain and dependency versions the package was built with (written by scripts/versions.mjs).
// @ts-ignore: generated into dist/wasm at build time
import build from './wasm/versions.js';

export const versions: Readonly<Record<string, string>> = build;
