// createNode(options): loads the core, picks the identity (given, stored, or fresh), opens the
// transport, builds the nitro::Node and joins the overlay.
import { unwrap, NitroError } from './errors.js';
import { init, getModule } from './wasm.js';
import type { CoreConfig, NodeCore, NodeTuning } from './host/core.js';
import { NitroNode } from './host/node.js';
import { attachRpc, type NodeRpcOptions, type RpcNodeMethods } from './rpc-node.js';
import { NodeRecords } from './host/records.js';
import type { DocStore } from './store.js';
import type { Transport, TransportSink } from './host/transport.js';
import { memory } from './host/transports/memory.js';
import { multi } from './host/transport.js';
import { attachSignalling } from './host/transports/webrtc.js';
import { Identity as KeyPair } from './crypto.js';

export interface CreateNodeOptions extends NodeTuning {
  /** A label; the memory transport's address is `mem:<name>`. Default: a random name. */
  name?: string;
  /** Default memory() (nodes in one process find each other); several run at once given a list. */
  transport?: Transport | Transport[];
  /** Contact addresses to join through; default: what the transport suggests. */
  bootstrap?: string[];
  /** The 32-byte Ed25519 seed of the node's identity (keep it secret). Default: stored or fresh. */
  identity?: Uint8Array;
  /**
   * Keeps the identity seed and, on close(), the node state (restored on the next start) — e.g.
   * memoryStore() or fileStore(dir). Records are per node name, so give nodes a stable `name`.
   */
  store?: DocStore;
  /**
   * With contacts to join through, createNode waits until the node has its first gossip neighbor,
   * at most this long (default 5000 ms; 0: do not wait). A message published before the node has
   * any neighbor reaches only its own subscribers.
   */
  joinTimeoutMs?: number;
  /** publish/sendDirect reject with RESOURCE_EXHAUSTED above this many unsent transport bytes (8 MiB). */
  sendBufferBytesMax?: number;
  /** RPC settings: advertisement TTL and period, stream window, retransmit. */
  rpc?: NodeRpcOptions;
}

const kSeedBytes = 32;
const kJoinTimeoutMsDefault = 5000;

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

function randomName(): string {
  return 'node-' + Array.from(randomBytes(4), (b) => b.toString(16).padStart(2, '0')).join('');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// Transport reports that arrive before the node exists (a fast inbound connection) wait here.
class PendingSink implements TransportSink {
  private target: TransportSink | undefined;
  private readonly queue: Array<(s: TransportSink) => void> = [];
  opened(address: string, initiator: boolean) { this.forward((s) => s.opened(address, initiator)); }
  frame(address: string, bytes: Uint8Array) { this.forward((s) => s.frame(address, bytes)); }
  closed(address: string) { this.forward((s) => s.closed(address)); }
  attach(target: TransportSink): void {
    this.target = target;
    for (const call of this.queue.splice(0)) call(target);
  }
  private forward(call: (s: TransportSink) => void): void {
    if (this.target) call(this.target);
    else if (this.queue.length < 1024) this.queue.push(call);  // bounded; the core copes with loss
  }
}

interface Identity { seed: Uint8Array; state?: Uint8Array }

function peerIdOf(seed: Uint8Array): string {
  const keys = KeyPair.fromSeed(seed);
  try {
    return keys.peerId;
  } finally {
    keys.dispose();
  }
}

async function resolveIdentity(options: CreateNodeOptions, records: NodeRecords | undefined): Promise<Identity> {
  if (options.identity !== undefined && (!(options.identity instanceof Uint8Array) || options.identity.length !== kSeedBytes)) {
    throw new NitroError('INVALID_ARGUMENT', 'identity must be a 32-byte Uint8Array seed');
  }
  const stored = records ? await records.get('identity') : undefined;
  const seed = options.identity ?? stored ?? randomBytes(kSeedBytes);
  if (records && !stored) await records.set('identity', seed);
  // Saved state carries the identity it belongs to: only reuse it for the same identity.
  const state = records && stored && sameBytes(stored, seed) ? await records.get('state') : undefined;
  return { seed, state };
}

/**
 * Creates a node and joins the overlay. Resolves once the node has a first neighbor (or has no
 * contact, or joinTimeoutMs passed); the overlay keeps forming in the background.
 */
export async function createNode(options: CreateNodeOptions = {}): Promise<NitroNode & RpcNodeMethods> {
  await init();
  const name = options.name ?? randomName();
  const records = options.store ? new NodeRecords(options.store, name) : undefined;
  const identity = await resolveIdentity(options, records);
  const pending = new PendingSink();
  const chosen = options.transport ?? memory();
  const transport = await (Array.isArray(chosen) ? multi(chosen) : chosen).open(pending, { name, id: peerIdOf(identity.seed) });
  let core: NodeCore;
  let config: CoreConfig;
  try {
    config = {
      mode: options.mode, activeViewMax: options.activeViewMax, passiveViewMax: options.passiveViewMax,
      meshDegree: options.meshDegree, meshGossipPeers: options.meshGossipPeers,
      timers: options.timers, limits: options.limits,
      identitySeed: identity.seed,
      entropy: randomBytes(kSeedBytes),
      listenAddress: transport.listenAddress,
      bootstrap: [...(options.bootstrap ?? []), ...transport.bootstrap].filter((a, i, all) => a !== transport.listenAddress && all.indexOf(a) === i),
      state: identity.state,
    };
    core = unwrap<NodeCore>(getModule().nodeCreate(config));
  } catch (e) {
    await transport.close();
    throw e;
  }
  const node = new NitroNode({
    core, name, transport, records, sendBufferBytesMax: options.sendBufferBytesMax,
  });
  try {
    // Every node relays WebRTC signalling for its peers; with webrtc() it also connects itself.
    attachSignalling(node, transport.signalling);
    transport.bindNode?.(node);
  } catch (e) {
    await node.close();
    throw e;
  }
  pending.attach(node.sink);
  node.start();
  const joinTimeoutMs = options.joinTimeoutMs ?? kJoinTimeoutMsDefault;
  // Contacts: the bootstrap list, or peers remembered in restored state (now the passive view).
  const hasContacts = config.bootstrap.length > 0 || node.passiveView().length > 0;
  if (joinTimeoutMs > 0 && hasContacts) await node.joined(joinTimeoutMs);
  // Every node speaks RPC: handle/call/stream/clientStream/bidi, with services advertised by gossip.
  return attachRpc(node, options.rpc);
}
