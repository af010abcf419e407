// RPC on a NitroNode (createNode): the issue-5 API — node.handle / node.call / node.stream /
// node.clientStream / node.bidi / node.useRpc, and Node.Info on every node — over the node's secure links (direct channel
// "rpc"), with discovery by gossip: every node publishes an advertisement of the services it
// serves (its name) on topic "rpc.ads", with a TTL, and feeds the ads it hears into its registry.
// Same engine and wire as the C++ NodeRpc protocol (core/include/nitro/rpc_node.h).
import type { NitroNode } from './host/node.js';
import { Rpc } from './rpc.js';
import { versions } from './versions.js';
import { FrameBatcher, splitFrames } from './rpc-batch.js';
import type {
  BidiStream, CallOptions, ClientInterceptor, ClientStream, RpcLink, RpcOptions, ServerInterceptor, StreamKind,
} from './rpc.js';

export const RPC_CHANNEL = 'rpc';
export const ADS_TOPIC = 'rpc.ads';

export interface NodeRpcOptions extends RpcOptions {
  /** An instance disappears from other nodes' registries this long after its last ad. */
  adTtlMs?: number;
  /** Re-advertise period (well under the TTL); a new neighbor also triggers an ad. */
  adIntervalMs?: number;
}

/** The RPC methods attachRpc adds to a node. */
export interface RpcNodeMethods {
  readonly rpc: Rpc;
  handle(method: string, handler: (request: any, ctx: import('./rpc.js').HandlerContext) => unknown, // eslint-disable-line @typescript-eslint/no-explicit-any
         options?: { kind?: StreamKind }): () => void;
  call<Res = unknown>(service: string, method: string, request: unknown, options?: CallOptions): Promise<Res>;
  stream<Res = unknown>(service: string, method: string, request: unknown, options?: CallOptions): AsyncIterable<Res>;
  clientStream<Res = unknown>(service: string, method: string, options?: CallOptions): ClientStream<Res>;
  bidi<Res = unknown>(service: string, method: string, options?: CallOptions): BidiStream<Res>;
  useRpc(interceptors: { client?: ClientInterceptor; server?: ServerInterceptor }): void;
}

/** An RpcLink over the node's direct channel "rpc"; the frames for one peer within a microtask
 *  travel as one direct message (rpc-batch.ts), so a burst costs one seal and one write. */
export function nodeLink(node: NitroNode): RpcLink {
  let down: (peer: string) => void = () => undefined;
  // A rejected send (no address, backpressure) means the batch did not leave: fail that peer's
  // calls now rather than at their deadlines.
  const batcher = new FrameBatcher(
    (peer, message) => { node.sendDirect(peer, RPC_CHANNEL, message).catch(() => down(peer)); },
    (peer) => down(peer));
  return {
    id: node.id,
    send(peer, bytes) {
      batcher.push(peer, bytes);
    },
    onMessage(receiver) {
      node.on('direct', (m) => {
        if (m.channel !== RPC_CHANNEL) return;
        try {
          splitFrames(m.bytes, (frame) => receiver(m.from, frame));
        } catch {
          // a malformed batch from an authenticated peer: dropped whole (the engine retransmits)
        }
      });
    },
    onPeerDown(listener) {
      down = listener;
      node.on('peer:down', (e) => {
        batcher.forget(e.id);
        listener(e.id);
      });
    },
  };
}

/** Adds RPC to a node (idempotent) and returns it with the RPC methods. The node serves calls
 *  addressed to its name; callers name the service, the registry picks an instance. */
const kHeardFromMax = 4096;
/** Direct channel for advertisements between linked peers. */
export const ADS_CHANNEL = 'rpc.ad';
const kDiscoveryWaitMsMax = 2000;

/**
 * Right after a node starts, a service may not be advertised to it yet: wait (within the call's
 * own timeout, at most 2 s) until the registry knows an instance. Calls with `peer` skip this.
 */
async function discovered(rpc: Rpc, service: string, timeoutMs = kDiscoveryWaitMsMax): Promise<void> {
  const until = Date.now() + Math.min(timeoutMs, kDiscoveryWaitMsMax);
  while (rpc.registry.count(service) === 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function* streamAfterDiscovery<T>(rpc: Rpc, service: string, timeoutMs: number | undefined, open: () => AsyncIterable<T>): AsyncGenerator<T> {
  await discovered(rpc, service, timeoutMs);
  yield* open();
}

/** Every node answers `Node.Info` (introspection: `nitro call <name> Node.Info '{}'`). */
export const NODE_INFO_METHOD = 'Node.Info';

function serveNodeInfo(node: NitroNode, rpc: Rpc): void {
  const startedAt = Date.now();
  rpc.handle(NODE_INFO_METHOD, () => ({
    id: node.id, name: node.name, address: node.address, version: versions.nitro,
    uptimeMs: Date.now() - startedAt, methods: rpc.methods(),
    peers: node.peers().map((p) => ({ id: p.id, address: p.listenAddress || p.address, neighbor: p.neighbor })),
  }));
}

export function attachRpc<N extends NitroNode>(node: N, options: NodeRpcOptions = {}): N & RpcNodeMethods {
  const existing = (node as Partial<RpcNodeMethods>).rpc;
  if (existing) return node as N & RpcNodeMethods;
  const rpc = new Rpc(nodeLink(node), { name: node.name, ...options });
  const ttlMs = options.adTtlMs ?? 30000;
  const intervalMs = options.adIntervalMs ?? 10000;
  const advertise = () => {
    if (node.closed) return;
    node.publish(ADS_TOPIC, rpc.advertisement(ttlMs)).catch(() => undefined);  // next period retries
  };
  const heardFrom = new Set<string>();
  node.subscribe(ADS_TOPIC, (msg, meta) => {
    // The origin signed the broadcast; an ad may only speak for its origin.
    if (!(msg instanceof Uint8Array) || meta.from === node.id) return;
    try {
      rpc.applyAdvertisement(msg, meta.from);
    } catch {
      return;  // malformed or forged advertisement: ignored
    }
    // A node we had not heard from joined after our last ad: answer with ours, so discovery
    // does not wait for the next period (bounded: once per new origin).
    if (!heardFrom.has(meta.from) && heardFrom.size < kHeardFromMax) {
      heardFrom.add(meta.from);
      advertise();
    }
  });
  let lastAd = 0;
  node.on('neighbor:up', () => {
    if (Date.now() - lastAd < 1000) return;
    lastAd = Date.now();
    advertise();
  });
  // Direct exchange with linked peers: gossip ads of a publisher are delivered in sequence order,
  // so a node that joins later waits for the gap to be repaired; a direct ad to each peer whose
  // link comes up (and to the peers linked at attach time) makes discovery immediate.
  const sendAd = (peer: string) => node.sendDirect(peer, ADS_CHANNEL, rpc.advertisement(ttlMs)).catch(() => undefined);
  node.on('peer:up', ({ id }) => { void sendAd(id); });
  node.on('direct', ({ from, channel, bytes }) => {
    if (channel !== ADS_CHANNEL) return;
    try {
      rpc.applyAdvertisement(bytes, from);
    } catch {
      return;  // malformed or forged: ignored
    }
    if (!heardFrom.has(from) && heardFrom.size < kHeardFromMax) {
      heardFrom.add(from);
      void sendAd(from);
    }
  });
  for (const peer of node.peers()) void sendAd(peer.id);
  serveNodeInfo(node, rpc);
  const timer = setInterval(advertise, intervalMs);
  (timer as { unref?: () => void }).unref?.();
  advertise();
  const close = node.close.bind(node);
  const methods: RpcNodeMethods = {
    rpc,
    handle: (method, handler, opts) => rpc.handle(method, handler, opts),
    call: (service, method, request, opts) => {
      // The common case (an instance is known) goes straight to the engine, without an await.
      if (opts?.peer !== undefined || rpc.registry.count(service) > 0) return rpc.call(service, method, request, opts);
      return discovered(rpc, service, opts?.timeoutMs).then(() => rpc.call(service, method, request, opts));
    },
    stream: (service, method, request, opts) => streamAfterDiscovery(rpc, service, opts?.timeoutMs, () => rpc.stream(service, method, request, opts)),
    clientStream: (service, method, opts) => rpc.clientStream(service, method, opts),
    bidi: (service, method, opts) => rpc.bidi(service, method, opts),
    useRpc: (interceptors) => rpc.use(interceptors),
  };
  Object.assign(node, methods, {
    close: async () => {
      clearInterval(timer);
      rpc.close();
      return close();
    },
  });
  return node as N & RpcNodeMethods;
}
