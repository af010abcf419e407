// The `demo` RPC service every `npm start` node serves (found by gossip advertisement, called
// round-robin): who answers shows the balancing; Demo.Beacon hands out the latest threshold-beacon
// round for the browser to verify itself; Demo.Chain and Demo.Like reach the chain.
import { toHex } from '../js/dist/node.js';

export const kBeaconScheme = 'pedersen-bls-chained';
const kCountMax = 20;
const kNameChars = 40;
const kCardIdChars = 64;

// Name, one-line description and an example request of each method, for the page's playground.
export const kDemoMethods = [
  { method: 'Demo.Hello', kind: 'unary', about: 'a greeting, from whichever node the balancer picks', example: { name: 'you' } },
  { method: 'Demo.Count', kind: 'stream', about: 'a server stream: n = 1..to, one every 150 ms', example: { to: 5 } },
  { method: 'Demo.Beacon', kind: 'unary', about: 'the latest round of the nodes\' 2-of-3 threshold beacon', example: {} },
  { method: 'Demo.Chain', kind: 'unary', about: 'the chain: height, validators, who holds the curator lock', example: {} },
  { method: 'Demo.Like', kind: 'unary', about: 'a chain transaction: +1 on a card, resolves at commit', example: { card: 'welcome' } },
  { method: 'Demo.Methods', kind: 'unary', about: 'this list', example: {} },
];

// The newest round any of the group's members in this process holds (a member that missed the DKG
// or a round, and delta, which is not a member, answer with it too).
function beaconRound(node, beacons) {
  const ready = beacons.filter((b) => b.latest() && b.groupPublicKey);
  const beacon = ready.sort((a, b) => b.latest().round - a.latest().round)[0];
  if (!beacon) return { ready: false, from: node.name };
  const r = beacon.latest();
  return {
    ready: true, from: node.name, scheme: kBeaconScheme, round: r.round, randomness: r.randomness,
    signature: toHex(r.signature), previousSignature: toHex(r.previousSignature), groupPublicKey: toHex(beacon.groupPublicKey),
  };
}

export function serveDemo(node, { beacons, chain, commits }) {
  node.rpc.serve('demo');
  node.handle('Demo.Hello', (req) => ({ greeting: `hello ${String(req?.name ?? 'you').slice(0, kNameChars)}`, from: node.name }));
  node.handle('Demo.Count', async function* (req, ctx) {
    const to = Math.min(kCountMax, Math.max(0, Number(req?.to) || 0));
    for (let n = 1; n <= to && !ctx.signal.aborted; n++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      yield { n, from: node.name };
    }
  });
  node.handle('Demo.Beacon', () => beaconRound(node, beacons));
  node.handle('Demo.Chain', () => ({ ...commits.last(), from: node.name, local: chain.info().height }));
  node.handle('Demo.Like', async (req) => {
    const card = String(req?.card ?? '').slice(0, kCardIdChars);
    const { height, result } = await chain.submit('like', { card }, { timeoutMs: 10000 });
    node.publish('demo.likes', { card, likes: result.likes, height }).catch(() => {});  // every page shows the new count
    return { card, likes: result.likes, height, from: node.name };
  });
  node.handle('Demo.Methods', () => ({ methods: kDemoMethods, from: node.name }));
}
