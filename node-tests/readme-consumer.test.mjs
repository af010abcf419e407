// Every ```ts example of README.md, unchanged, compiles with `tsc --strict` against the package's
// own types (imported by name: '@gonitro/nitro' resolves to this package through its exports).
// Each block is its own module; what the surrounding prose leaves out (a seed, a validator list,
// an AbortSignal) is declared ahead of it, and the package's exports it uses are imported unless
// the block imports them itself. Also compiles typed-service checks: wrong request types must fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'node-tests', '.readme-consumer');
const run = promisify(execFile);

// Free names the prose supplies, as ambient declarations.
const ambient = {
  seed: 'declare const seed: Uint8Array;',
  seed32: 'declare const seed32: Uint8Array;',
  signal: 'declare const signal: AbortSignal;',
  bytes: 'declare const bytes: Uint8Array;',
  payload: 'declare const payload: Uint8Array;',
  expectedPeer: 'declare const expectedPeer: string;',
  round: 'declare const round: number;',
  signature: 'declare const signature: Uint8Array;',
  previousSignature: 'declare const previousSignature: Uint8Array;',
  publicKey: 'declare const publicKey: string;',
  validators: "declare const validators: import('@gonitro/nitro').ChainValidator[];",
  sk: 'declare const sk: Uint8Array;',
  msg: 'declare const msg: Uint8Array;',
  sigs: 'declare const sigs: Uint8Array[];',
  pks: 'declare const pks: Uint8Array[];',
  sig: 'declare const sig: Uint8Array;',
  share: "declare const share: import('@gonitro/nitro').Share;",
  partials: "declare const partials: import('@gonitro/nitro').PartialSignature[];",
  t: 'declare const t: number;',
  n: 'declare const n: number;',
  a: "declare const a: Awaited<ReturnType<typeof import('@gonitro/nitro').createNode>>;",
  b: "declare const b: Awaited<ReturnType<typeof import('@gonitro/nitro').createNode>>;",
  c: "declare const c: Awaited<ReturnType<typeof import('@gonitro/nitro').createNode>>;",
  d: "declare const d: Awaited<ReturnType<typeof import('@gonitro/nitro').createNode>>;",
  e: "declare const e: Awaited<ReturnType<typeof import('@gonitro/nitro').createNode>>;",
  doc: "declare const doc: import('@gonitro/nitro').Doc;",
  node: "declare const node: Awaited<ReturnType<typeof import('@gonitro/nitro').createNode>>;",
  id: 'declare const id: string;',
  blsPublicKey: 'declare const blsPublicKey: Uint8Array;',
  blsPop: 'declare const blsPop: Uint8Array;',
};

export function tsBlocks(markdown) {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

function declared(block, name) {
  const decl = new RegExp(`\\b(?:const|let|var|function|class)\\s+(?:\\{[^}]*\\b${name}\\b[^}]*\\}|\\[[^\\]]*\\b${name}\\b[^\\]]*\\]|${name}\\b)`);
  const imported = new RegExp(`import\\s*\\{[^}]*\\b${name}\\b[^}]*\\}`);
  return decl.test(block) || imported.test(block);
}

function prelude(block, exported) {
  const uses = (name) => new RegExp(`(?<![.\\w$'"])${name}\\b`).test(block);
  const imports = exported.filter((name) => uses(name) && !declared(block, name));
  const lines = imports.length ? [`import { ${imports.join(', ')} } from '@gonitro/nitro';`] : [];
  for (const [name, decl] of Object.entries(ambient)) if (uses(name) && !declared(block, name)) lines.push(decl);
  lines.push('export {};');
  return lines.join('\n') + '\n';
}

// What protoc-gen-es would generate for the README's greet.proto (the types only: nothing runs).
const generatedProto = `import type { Message } from '@bufbuild/protobuf';
import type { GenMessage } from '@bufbuild/protobuf/codegenv2';
export type HelloRequest = Message<'greet.HelloRequest'> & { name: string };
export type HelloReply = Message<'greet.HelloReply'> & { message: string };
export declare const HelloRequestSchema: GenMessage<HelloRequest>;
export declare const HelloReplySchema: GenMessage<HelloReply>;
`;

// Typed services: the client and handler types follow the definition (each line must fail).
const serviceChecks = `import { createNode, defineService, createClient, implement, method, protobuf } from '@gonitro/nitro';
import { HelloRequestSchema, HelloReplySchema } from './gen/greet_pb.js';
const Greeter = defineService('Greeter', {
  hello: method.unary<{ name: string }, { msg: string }>(),
  count: method.serverStream<{ to: number }, number>(),
});
const node = await createNode({ name: 'x' });
const client = createClient(node, Greeter);
const r: { msg: string } = await client.hello({ name: 'x' });
for await (const n of client.count({ to: 3 })) { const k: number = n; void k; }
implement(node, Greeter, { hello: (req) => ({ msg: req.name }), count: async function* (req) { yield req.to; } });
// @ts-expect-error a request of the wrong type
await client.hello({ name: 1 });
// @ts-expect-error a handler returning the wrong type
implement(node, Greeter, { hello: () => ({ msg: 1 }), count: async function* () { yield 1; } });
const Proto = defineService('Proto', { hi: method.unary(protobuf(HelloRequestSchema, HelloReplySchema)) });
// @ts-expect-error a protobuf handler must return the response message type, not the request's
implement(node, Proto, { hi: (req) => req });
const reply: { message: string } = await createClient(node, Proto).hi({ $typeName: 'greet.HelloRequest', name: 'x' });
void r; void reply;
`;

test('README: every ```ts example compiles with tsc --strict against the package types', { timeout: 120000 }, async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const blocks = tsBlocks(readme);
  assert.ok(blocks.length >= 10, `README has ${blocks.length} ts blocks`);
  const index = await readFile(join(root, 'js', 'dist', 'node.d.ts'), 'utf8') + await readFile(join(root, 'js', 'dist', 'index.d.ts'), 'utf8');
  const exported = [...new Set([...index.matchAll(/export\s*\{([^}]*)\}/g)].flatMap((m) => m[1].split(','))
    .map((s) => s.trim()).filter((s) => s && !s.startsWith('type '))
    .map((s) => s.split(/\s+as\s+/).pop()))];
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const files = [];
    for (const [i, block] of blocks.entries()) {
      const file = `block${String(i).padStart(2, '0')}.ts`;
      await writeFile(join(dir, file), prelude(block, exported) + block);
      files.push(file);
    }
    await mkdir(join(dir, 'gen'));
    await writeFile(join(dir, 'gen', 'greet_pb.ts'), generatedProto);
    await writeFile(join(dir, 'services.ts'), serviceChecks);
    files.push('services.ts');
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        skipLibCheck: false, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
      },
      files,
    }));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await run(process.execPath, [tsc, '-p', dir]).catch((e) => e);
    assert.equal(r.code ?? 0, 0, `tsc --strict over the README examples:\n${r.stdout}${r.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
