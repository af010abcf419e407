// Loads an npm package that a Node-only feature needs (ws, ...), from code that browsers also load.
//
// A CommonJS package goes through require(): an ESM import() of it first scans its source for
// export names (Node's cjs-module-lexer), and that scan runs hot enough for V8 to optimize the
// lexer, which leaves the optimizing compiler's code and memory resident — ~5 MB of RSS for `ws`,
// in every node process, for nothing. ESM-only packages (require() refuses them before Node 22),
// and bundles where import.meta.url is not a file URL, fall back to import().
export async function loadPackage(specifier: string): Promise<unknown> {
  const moduleApi = 'node:module';  // a variable: bundlers for browsers leave it alone
  try {
    const { createRequire } = (await import(/* @vite-ignore */ moduleApi)) as typeof import('node:module');
    return createRequire(import.meta.url)(specifier) as unknown;
  } catch {
    return import(/* @vite-ignore */ specifier);
  }
}
