// What a page gets from nitro.wasm alone (the browser entry's first download), checked under Node
// through the slim entry: a node with pub/sub runs; access control, presence and sealed identity
// exports, whose code ships in nitro-bls.wasm, behave as documented before and after it loads
// (docs/notes/packaging.md). Node's own entry loads both files at init(), so it never sees this.
// Also: the Ed25519 base table, which nitro.wasm ships as zeros and the loader computes, signs as
// OpenSSL does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createPrivateKey, sign as ed25519Sign } from 'node:crypto';
import { init, loadBls, blsLoaded, createNode, memory, MemoryNetwork, Identity } from '../../js/dist/slim.js';
import { waitFor } from '../support/wait.mjs';

const wasm = (file) => readFile(new URL(`../../js/dist/wasm/${file}`, import.meta.url));
await init({ wasmBinary: await wasm('nitro.wasm'), blsWasm: await wasm('nitro-bls.wasm') });

const codeOf = (fn) => {
  try { fn(); return 'ok'; } catch (e) { return e.code ?? String(e); }
};

test('nitro.wasm alone: pub/sub, open access, deferred presence; access control loads the rest', async () => {
  assert.equal(blsLoaded(), false);
  const network = new MemoryNetwork();
  const a = await createNode({ name: 'la', transport: memory({ network }) });
  const b = await createNode({ name: 'lb', transport: memory({ network }), bootstrap: [a.address] });
  try {
    assert.equal(blsLoaded(), false, 'a node without access control does not load nitro-bls.wasm');
    const got = [];
    b.subscribe('t', (m) => got.push(m));
    await waitFor(async () => { await a.publish('t', got.length); return got.length > 0; }, { what: 'a message at b' });

    // No access control attached: everything is allowed, no counters, changing it needs the code.
    assert.equal(a.stats().auth, undefined);
    assert.equal(a.auth.allowed(b.id, 'publish', 't'), true);
    assert.deepEqual(a.auth.stats().denied, 0);
    assert.equal(codeOf(() => a.auth.setRules('deny publish t any')), 'FAILED_PRECONDITION');
    assert.equal(codeOf(() => Identity.generate().exportSealed('pw', { ops: 1, memKib: 8 })), 'FAILED_PRECONDITION');

    // Presence waits for its code: own state visible at once, peers' once loaded.
    const pa = a.presence('d'), pb = b.presence('d');
    pa.setLocalState({ who: 'a' });
    assert.deepEqual([...pa.getStates()], [[a.id, { who: 'a' }]]);

    // A node configured with access control loads nitro-bls.wasm before it starts.
    const c = await createNode({ name: 'lc', transport: memory({ network }), auth: { rules: 'deny publish secret any' } });
    try {
      assert.equal(blsLoaded(), true);
      assert.equal(c.stats().auth.denied, 0);
      assert.equal(c.auth.allowed(a.id, 'publish', 'secret'), false);
    } finally {
      await c.close();
    }
    await waitFor(() => pb.getStates().get(a.id)?.who === 'a', { what: "a's presence at b" });

    // With the code in, access control attaches on first change.
    a.auth.setRules('deny publish t any');
    assert.equal(a.auth.allowed(b.id, 'publish', 't'), false);
    assert.equal(a.stats().auth.denied, 1);
    const sealed = Identity.fromSeed(new Uint8Array(32).fill(7)).exportSealed('pw', { ops: 1, memKib: 8 });
    assert.equal(Identity.importSealed(sealed, 'pw').peerId, Identity.fromSeed(new Uint8Array(32).fill(7)).peerId);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('the computed Ed25519 base table: signatures equal OpenSSL\'s for the same seeds', () => {
  const pkcs8 = Buffer.from('302e020100300506032b657004220420', 'hex');  // RFC 8410 prefix of a raw seed
  for (let i = 0; i < 16; i++) {
    const seed = new Uint8Array(32).map((_, k) => (k * 31 + i * 97 + 1) & 255);
    const message = new TextEncoder().encode(`message ${i}`);
    const key = createPrivateKey({ key: Buffer.concat([pkcs8, seed]), format: 'der', type: 'pkcs8' });
    const id = Identity.fromSeed(seed);
    assert.deepEqual(Buffer.from(id.sign(message)), ed25519Sign(null, message, key));
    id.dispose();
  }
});
