// The README's document examples as a user would paste them: the "Replicated CRDT documents" and
// "Documents: observing, undo, cursors, presence" blocks and beacon.watch() are compiled with `tsc --strict` against the package's own
// type declarations (resolved through package.json "exports", as a consumer resolves them), and
// the document blocks then run unchanged (the second between two nodes).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = await mkdtemp(join(tmpdir(), 'nitro-doc-readme-'));
after(() => rm(dir, { recursive: true, force: true }));

/** The body of the first fenced block after `heading` in README.md. */
function blockAfter(readme, heading) {
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README has "${heading}"`);
  const m = /```(?:ts|js)\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, `a code block follows "${heading}"`);
  return m[1];
}

const readme = await readFile(join(root, 'README.md'), 'utf8');
const docBlock = blockAfter(readme, '### Documents: observing, undo, cursors, presence');
const crdtBlock = blockAfter(readme, '### Replicated CRDT documents');
const watchLines = blockAfter(readme, '### Threshold beacon among nodes')
  .split('\n').filter((l) => l.startsWith('const stop') || l.includes('beacon.watch(')).join('\n');

// What the README's earlier examples define: node `a` and its replicated `doc` (a second node
// `b` opens the same document, so `await doc.synced` has a peer to catch up with).
const prelude = `import { createNode, memory, MemoryNetwork } from '@gonitro/nitro';
const network = new MemoryNetwork();
const a = await createNode({ name: 'readme-a', transport: memory({ network }) });
const b = await createNode({ name: 'readme-b', transport: memory({ network }) });
const doc = a.doc('board');
b.doc('board');
`;

async function project() {
  await mkdir(join(dir, 'node_modules', '@gonitro'), { recursive: true });
  await mkdir(join(dir, 'node_modules', '@types'), { recursive: true });
  await symlink(root, join(dir, 'node_modules', '@gonitro', 'nitro'), 'dir');
  await symlink(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
      types: ['node'], outDir: 'out', skipLibCheck: false,
    },
    files: ['doc.ts', 'watch.ts', 'crdt.ts'],
  }));
  await writeFile(join(dir, 'doc.ts'), `${prelude}${docBlock}await b.close();\nconsole.log(JSON.stringify({ notes: notes.toString(), index, sizes }));\n`);
  await writeFile(join(dir, 'crdt.ts'), `import { createNode, fileStore } from '@gonitro/nitro';\nconst a = await createNode({ name: 'readme-c' });\n${crdtBlock}await a.close();\nconsole.log(JSON.stringify(doc.getText('notes').toString()));\n`);
  await writeFile(join(dir, 'watch.ts'), `import type { NodeBeacon } from '@gonitro/nitro';\nexport async function watching(beacon: NodeBeacon): Promise<void> {\n${watchLines}\n}\n`);
}

test('README document examples compile with tsc --strict and run unchanged', async () => {
  await project();
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const compiled = await run(process.execPath, [tsc, '-p', dir]).catch((e) => e);
  assert.equal(compiled.code ?? 0, 0, `tsc --strict:\n${compiled.stdout}${compiled.stderr}`);

  const { stdout } = await run(process.execPath, [join(dir, 'out', 'doc.js')], { timeout: 60000 });
  const out = JSON.parse(stdout.trim().split('\n').at(-1));
  // undo removed the insertion, redo brought it back; the anchor sits before its 'o'
  assert.equal(out.notes, 'typo');
  assert.equal(out.index, 3);
  assert.deepEqual(out.sizes, [0, 0]);

  // the basic block, with its file store in a scratch directory
  const basic = await run(process.execPath, [join(dir, 'out', 'crdt.js')], { cwd: dir, timeout: 60000 });
  assert.equal(JSON.parse(basic.stdout.trim().split('\n').at(-1)), 'hello');
});
