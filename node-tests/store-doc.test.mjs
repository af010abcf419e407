// Documents persisted through the DocStore methods every Store offers: round trips before and after
// compaction, and a writer SIGKILLed mid-editing loses no acknowledged update.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, Doc, memoryStore, persist, fileStore } from '../js/dist/node.js';

await init();

const tempDir = () => mkdtempSync(join(tmpdir(), 'nitro-store-'));
const dirs = [];
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

for (const [label, makeStore] of [['memoryStore', () => memoryStore()], ['fileStore', () => { const d = tempDir(); dirs.push(d); return fileStore(d); }]]) {
  test(`${label}: a document survives being reopened, before and after compaction`, async () => {
    const store = makeStore();
    const a = new Doc();
    const pa = await persist(a, store, 'doc');
    a.getText('t').insert(0, 'hello');
    a.getMap('m').set('k', { v: 1 });
    const remote = new Doc();
    remote.getCounter('c').increment(5);
    a.applyUpdate(remote.encodeState(), 'peer'); // remote updates are stored too
    await pa.flush();
    const b = new Doc();
    await persist(b, store, 'doc');
    assert.equal(b.getText('t').toString(), 'hello');
    assert.deepEqual(b.getMap('m').get('k'), { v: 1 });
    assert.equal(b.getCounter('c').value, 5);

    await pa.compact();
    assert.equal((await store.load('doc')).length, 1);
    a.getText('t').insert(5, '!');
    await pa.close();
    const c = new Doc();
    await persist(c, store, 'doc');
    assert.equal(c.getText('t').toString(), 'hello!');
    assert.deepEqual(await store.load('other'), []);
    await store.close();
  });
}

test('fileStore: SIGKILL mid-editing a persisted document loses no acknowledged update', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  dirs.push(dir);
  const runWriterUntil = (acks) => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('./fixtures/store-writer.mjs', import.meta.url).pathname, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    let last = -1;
    let seen = 0;
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        last = Number(line);
        if (++seen === acks) child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`writer exited ${code}`))));
  });
  let acknowledged = -1;
  for (const acks of [7, 61, 23]) { // kills land at different points, across compactions
    const last = await runWriterUntil(acks);
    assert.ok(last > acknowledged);
    acknowledged = last;
    const doc = new Doc();
    const store = fileStore(dir);
    await persist(doc, store, 'notes');
    const text = doc.getText('t').toString();
    for (let i = 0; i <= acknowledged; i++) assert.ok(text.includes(`<${i}>`), `edit ${i} was acknowledged but is missing`);
    assert.ok(doc.getMap('m').get('last') >= acknowledged);
    doc.destroy();
    await store.close();
  }
});
