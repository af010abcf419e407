// A light client in Chromium: 4 validators (memory transport, in Node) commit a value; the page,
// with only the validator set, verifies the read proof in wasm and rejects a tampered one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '../scripts/serve.mjs';
import { launchBrowser } from './support/browser.mjs';
import { createNode, memory, MemoryNetwork, chainKeys, init } from '../js/dist/node.js';
import { waitFor, overlayConnected } from './support/wait.mjs';

await init();

test('consensus: a Chromium page verifies a committed value with the standalone light client', { timeout: 90000 }, async () => {
  const network = new MemoryNetwork();
  const nodes = [];
  for (let i = 0; i < 4; i++) nodes.push(await createNode({ name: `cb${i}`, transport: memory({ network }) }));
  await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), { what: 'overlay' });
  const keys = nodes.map((_, i) => chainKeys(new Uint8Array(32).fill(i + 50)));
  const validators = nodes.map((n, i) => ({ id: n.id, blsPublicKey: keys[i].blsPublicKey, blsPop: keys[i].blsPop }));
  const chains = nodes.map((n, i) => n.consensus({ name: 'web', validators, blsSecretKey: keys[i].blsSecretKey, timeoutMs: 500 }));
  let site;
  let browser;
  try {
    const { height } = await chains[0].submit('kv.put', { key: 'motd', value: 'hello browser' });
    // submit() resolves at chain 0's commit; chain 2 applies the block when its own commit arrives
    await waitFor(() => chains[2].info().height >= height, { what: 'chain 2 at the commit height' });
    const { proof } = await chains[2].read('motd', { proof: true });
    site = await serve({});
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(site.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    const plain = validators.map((v) => ({ id: v.id, blsPublicKey: [...v.blsPublicKey], blsPop: [...v.blsPop] }));
    const result = await page.evaluate(async ({ plain, proof }) => {
      const { verifyRead, init, loadBls } = await import('/nitro/browser.js');
      await init();
      await loadBls();  // consensus and BLS live in nitro-bls.wasm, fetched on first use
      const vs = plain.map((v) => ({ id: v.id, blsPublicKey: new Uint8Array(v.blsPublicKey), blsPop: new Uint8Array(v.blsPop) }));
      const bytes = new Uint8Array(proof);
      const t0 = performance.now();
      const ok = verifyRead('web', vs, bytes);
      const ms = performance.now() - t0;
      bytes[bytes.length - 3] ^= 0xff;
      let error;
      try { verifyRead('web', vs, bytes); } catch (e) { error = e.code; }
      return { key: ok.key, found: ok.found, value: ok.value, ms, error };
    }, { plain, proof: [...proof] });
    assert.equal(result.key, 'motd');
    assert.equal(result.found, true);
    assert.equal(result.value, 'hello browser');
    assert.ok(typeof result.error === 'string', 'a tampered proof is rejected');
    console.log(`# light-client verify in Chromium: ${result.ms.toFixed(1)} ms`);
  } finally {
    await browser?.close();
    await site?.close();
    for (const c of chains) c.close();
    await Promise.all(nodes.map((n) => n.close()));
  }
});
