// RPC on a NitroNode (createNode): every node runs the core's RPC composition (NodeRpc, attached
// to its core under channel "rpc" by bindings/rpc.cpp) and gets handle / call / stream /
// clientStream / bidi / useRpc, plus Node.Info. Discovery, ads, discovery waits, coalescing,
// retries and balancing all happen in the core; this file only wires the node's run/protocol
// hooks to the JS API. No timer lives here: the node's one timer drives the composition.
import type { NitroNode } from '../host/node.js';
import { unwrap } from '../errors.js';
import { versions } from '../versions.js';
import { getModule } from '../wasm.js';
import { Rpc } from './rpc.js';
import type { RpcHost, RpcHostCallbacks } from './host.js';
import type {
  BidiStream, CallOptions, ClientInterceptor, ClientStream, HandlerContext, RpcOptions, ServerInterceptor, StreamKind,
} from './types.js';

const kChannel = 'rpc';  // the core's nitro::rpc::kNodeChannel
const kNodeInfoMethod = 'Node.Info';

export interface NodeRpcOptions extends RpcOptions {
  /** An instance disappears from other nodes' registries this long after its last ad. */
  adTtlMs?: number;
  /** Re-advertise period (under half the TTL); a newcomer also triggers an ad. */
  adIntervalMs?: number;
  /** How long a call for a service not discovered yet waits for it (within its timeout). */
  discoveryWaitMs?: number;
}

/** The RPC methods attachRpc adds to a node. */
export interface RpcNodeMethods {
  readonly rpc: Rpc;
  handle(method: string, handler: (request: any, ctx: HandlerContext) => unknown, // eslint-disable-line @typescript-eslint/no-explicit-any
         options?: { kind?: StreamKind }): () => void;
  call<Res = unknown>(service: string, method: string, request: unknown, options?: CallOptions): Promise<Res>;
  stream<Res = unknown>(service: string, method: string, request: unknown, options?: CallOptions): AsyncIterable<Res>;
  clientStream<Res = unknown>(service: string, method: string, options?: CallOptions): ClientStream<Res>;
  bidi<Res = unknown>(service: string, method: string, options?: CallOptions): BidiStream<Res>;
  useRpc(interceptors: { client?: ClientInterceptor; server?: ServerInterceptor }): void;
}

/** The node's RPC composition as an Rpc host: calls run through node.run (which drains the node
 *  afterwards), events arrive as the protocol's kProtocol batches. */
class NodeHost implements RpcHost {
  readonly engine: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly discoveryProbe = kNodeInfoMethod;
  private off: (() => void) | undefined;
  private closed = false;

  constructor(private readonly node: NitroNode, options: NodeRpcOptions) {
    const config = {
      name: options.name ?? node.name, window: options.window, retransmitMs: options.retransmitMs,
      adTtlMs: options.adTtlMs, adIntervalMs: options.adIntervalMs, discoveryWaitMs: options.discoveryWaitMs,
    };
    this.engine = unwrap(node.run((core) => getModule().rpcAttach(core, config)));
  }

  get id(): string {
    return this.node.id;
  }

  attach(callbacks: RpcHostCallbacks): void {
    this.off = this.node.onProtocol(kChannel, (batch) => callbacks.events(batch));
  }

  run<T>(fn: (nowMs: number) => T): T {
    return this.node.run((_core, nowMs) => fn(nowMs));
  }

  now(): number {
    return Math.floor(performance.now());  // the node's clock (js/src/host/node.ts)
  }

  send(): boolean {
    return true;  // a node's frames leave through the node, never through a drain batch
  }

  schedule(): void {
    // the node's own timer covers the composition's deadlines
  }

  durable(): Promise<void> | undefined {
    return this.node.storePending();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.off?.();
    this.engine.delete();
  }
}

function serveNodeInfo(node: NitroNode, rpc: Rpc): void {
  const startedAt = performance.now();
  rpc.handle(kNodeInfoMethod, () => ({
    id: node.id, name: node.name, address: node.address, version: versions.nitro,
    uptimeMs: Math.floor(performance.now() - startedAt), methods: rpc.methods(),
    peers: node.peers().map((p) => ({ id: p.id, address: p.listenAddress || p.address, neighbor: p.neighbor })),
  }));
}

/** Adds RPC to a node (idempotent) and returns it with the RPC methods. The node serves calls
 *  addressed to its name; callers name the service, the registry picks an instance. */
export function attachRpc<N extends NitroNode>(node: N, options: NodeRpcOptions = {}): N & RpcNodeMethods {
  const existing = (node as Partial<RpcNodeMethods>).rpc;
  if (existing) return node as N & RpcNodeMethods;
  // The service name defaults to the node's name; `rpc: { name }` lets several nodes (one process
  // on the memory transport, where node names are addresses and unique) serve one service.
  const rpc = new Rpc(new NodeHost(node, options), { ...options, name: options.name ?? node.name });
  serveNodeInfo(node, rpc);
  const close = node.close.bind(node);
  const methods: RpcNodeMethods = {
    rpc,
    handle: (method, handler, opts) => rpc.handle(method, handler, opts),
    call: (service, method, request, opts) => rpc.call(service, method, request, opts),
    stream: (service, method, request, opts) => rpc.stream(service, method, request, opts),
    clientStream: (service, method, opts) => rpc.clientStream(service, method, opts),
    bidi: (service, method, opts) => rpc.bidi(service, method, opts),
    useRpc: (interceptors) => rpc.use(interceptors),
  };
  Object.assign(node, methods, {
    close: async () => {
      if (!node.closed) rpc.close();
      return close();
    },
  });
  return node as N & RpcNodeMethods;
}
