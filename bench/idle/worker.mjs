// One idle node in its own process, for bench/idle.mjs: `node worker.mjs nitro|libp2p|bare [contact...]`
// (bare: Node itself and nothing else, the floor both stacks stand on).
// Prints "READY <address>" once listening (and joined through the contacts), then idles until
// its parent closes stdin.
const [kind, ...contacts] = process.argv.slice(2);

async function nitro() {
  const { createNode, websocket } = await import('../../js/dist/node.js');
  const node = await createNode({
    name: `idle-${process.pid}`,
    transport: websocket({ listen: 0, url: contacts.length > 0 ? contacts : undefined }),
  });
  node.subscribe('idle', () => {});
  return { address: node.address, close: () => node.close() };
}

async function libp2p() {
  // js-libp2p needs Promise.withResolvers (Node 22); this machine's Node 20 lacks it.
  Promise.withResolvers ??= function withResolvers() {
    let resolve, reject;
    const promise = new Promise((a, b) => { resolve = a; reject = b; });
    return { promise, resolve, reject };
  };
  const { createLibp2p } = await import('libp2p');
  const { webSockets } = await import('@libp2p/websockets');
  const { noise } = await import('@chainsafe/libp2p-noise');
  const { yamux } = await import('@chainsafe/libp2p-yamux');
  const { gossipsub } = await import('@chainsafe/libp2p-gossipsub');
  const { identify } = await import('@libp2p/identify');
  const { multiaddr } = await import('@multiformats/multiaddr');
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub() },
  });
  for (const c of contacts) await node.dial(multiaddr(c)).catch(() => {});
  node.services.pubsub.subscribe('idle');
  return { address: node.getMultiaddrs()[0].toString(), close: () => node.stop() };
}

const stacks = { nitro, libp2p, bare: async () => ({ address: 'none', close: async () => {} }) };
const running = await stacks[kind]();
console.log(`READY ${running.address}`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await running.close().catch(() => {});
  process.exit(0);
});
