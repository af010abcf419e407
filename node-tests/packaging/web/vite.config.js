// Vite's defaults, except module workers (the package loads its core with a dynamic import).
export default { logLevel: 'warn', build: { target: 'es2022', emptyOutDir: true }, worker: { format: 'es' } };
