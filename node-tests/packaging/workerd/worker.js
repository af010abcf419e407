// A Cloudflare Worker: the wasm comes in as module bindings (workers cannot compile wasm from
// bytes). Per request it verifies a drand round, merges the CRDT updates it was sent, and calls an
// RPC service on a Node node over an outbound WebSocket.
import { init, loadBls, Beacon, Doc, createNode, websocket } from '@gonitro/nitro';
import wasmModule from '@gonitro/nitro/nitro.wasm';
import blsModule from '@gonitro/nitro/nitro-bls.wasm';

const fromHex = (hex) => new Uint8Array(hex.match(/../g).map((b) => parseInt(b, 16)));

export default {
  async fetch(request) {
    try {
      await init({ wasmModule });
      await loadBls(blsModule);
      const { beacon, updates, url } = await request.json();
      const verified = Beacon.verify(beacon);
      const doc = new Doc();
      for (const update of updates) doc.applyUpdate(fromHex(update));
      const node = await createNode({ name: 'edge', transport: websocket({ url }) });
      const sum = await node.call('adder', 'Pkg.Add', { a: 2, b: 40 }, { timeoutMs: 15000 });
      await node.close();
      return Response.json({
        verified,
        doc: { text: doc.getText('t').toString(), map: doc.getMap('m').toJSON(), counter: doc.getCounter('c').value },
        sum,
      });
    } catch (e) {
      return Response.json({ error: String(e?.stack ?? e), code: e?.code }, { status: 500 });
    }
  },
};
