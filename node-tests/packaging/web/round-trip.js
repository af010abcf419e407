// What every browser consumer does (page or Web Worker, esbuild or Vite bundle): join a Node node
// over WebSocket and get a pub/sub reply, then load the BLS half on first use and verify a drand
// round. `nitro` is the package's namespace as the bundle imported it.
export async function roundTrip(nitro, url) {
  await nitro.init();
  const blsBefore = nitro.blsLoaded();
  const node = await nitro.createNode({ name: 'bundle', transport: nitro.websocket({ url }) });
  const nonce = `${node.id}`;
  const pong = new Promise((resolve) => {
    node.subscribe('pkg.pong', (msg) => { if (msg.nonce === nonce) resolve(msg); });
  });
  // Gossip needs a neighbor first; a ping sent while the link forms may be dropped, so ask again
  // until the answer comes (bounded).
  const deadline = Date.now() + 20000;
  let reply;
  while (!reply) {
    if (Date.now() > deadline) throw new Error(`no pkg.pong within 20 s (neighbors: ${node.neighbors().length})`);
    if (node.neighbors().length > 0) await node.publish('pkg.ping', { nonce });
    reply = await Promise.race([pong, new Promise((resolve) => setTimeout(resolve, 250))]);
  }
  const doc = new nitro.Doc();
  doc.getText('t').insert(0, 'docs work');
  await node.close();
  return { id: node.id, reply, blsBefore, doc: doc.getText('t').toString() };
}

export async function verifyBeacon(nitro, beacon) {
  await nitro.loadBls();
  return nitro.Beacon.verify(beacon);
}
