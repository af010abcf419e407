// createNode(options): loads the core, picks the identity (given, stored, or fresh), opens the
// transport, builds the nitro::Node and joins the overlay.
import { unwrap, NitroError } from './errors.js';
import { init, getModule, loadBls } from './wasm.js';
import type { CoreConfig, NodeCore, NodeTuning } from './host/core.js';
import { NitroNode } from './host/node.js';
import { attachRpc, type NodeRpcOptions, type RpcNodeMethods } from './rpc-node.js';
import { nodeRecords, type NodeRecordStore } from './host/records.js';
import type { DocStore, Store } from './store.js';
import type { Transport, TransportSink } from './host/transport.js';
import { memory } from './host/transports/memory.js';
import { multi } from './host/transport.js';
import { attachSignalling } from './host/transports/webrtc.js';
import { Identity as KeyPair } from './crypto.js';
import type { Broker } from './broker/types.js';
import type { Discovery } from './discovery/types.js';
import { randomBytes } from './random.js';
import { attachSync, type NodeSync, type SyncBackendFactory } from './sync.js';
import { attachAuth, authConfigured, type AuthOptions, type NodeAuth } from './auth.js';

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
   * Where the node keeps its durable records (identity, publish sequence numbers, known peers and
   * what its protocols must not forget), written ahead of the messages that depend on them, so a
   * node killed at any instant restarts where it was — e.g. memoryStore() or fileStore(dir).
   * Records are per node name, so give nodes a stable `name`.
   */
  store?: Store | DocStore;
  /**
   * With contacts to join through, createNode waits until the node has its first gossip neighbor,
   * at most this long (default 5000 ms; 0: do not wait). A message published before the node has
   * any neighbor reaches only its own subscribers.
   */
  joinTimeoutMs?: number;
  /** publish/sendDirect reject with RESOURCE_EXHAUSTED above this many unsent transport bytes (8 MiB). */
  sendBufferBytesMax?: number;
  /** Where publish/subscribe go; default: the gossip mesh. E.g. nats({ servers }). */
  broker?: Broker;
  /** How to find peers without a bootstrap address, e.g. mdns() on a LAN. */
  discovery?: Discovery;
  /** RPC settings: advertisement TTL and period, discovery wait, stream window, retransmit. */
  rpc?: NodeRpcOptions;
  /** The backend of node.sync (locks, leader election), e.g. etcd({ endpoints }). */
  sync?: SyncBackendFactory;
  /** Access control: trusted authorities, rules, the default, and this node's capability tokens. */
  auth?: AuthOptions;
  /** The same as `auth` (the name DESIGN.md uses); `tokens` may also be given at the top level. */
  access?: AuthOptions;
  tokens?: Uint8Array[];
}

const kSeedBytes = 32;
const kJoinTimeoutMsDefault = 5000;

function randomName(): string {
  return 'node-' + Array.from(randomBytes(4), (b) => b.toString(16).padStart(2, '0')).join('');
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

function peerIdOf(seed: Uint8Array): string {
  const keys = KeyPair.fromSeed(seed);
  try {
    return keys.peerId;
  } finally {
    keys.dispose();
  }
}

function checkIdentity(options: CreateNodeOptions): void {
  if (options.identity !== undefined && (!(options.identity instanceof Uint8Array) || options.identity.length !== kSeedBytes)) {
    throw new NitroError('INVALID_ARGUMENT', 'identity must be a 32-byte Uint8Array seed');
  }
}

// What the store holds for this node: its records, or (from before records existed) the identity
// seed a document store kept under `nitro.node/<name>/identity`, migrated as a fresh start.
async function storedRecords(options: CreateNodeOptions, records: NodeRecordStore | undefined, name: string):
    Promise<{ records: Array<[string, Uint8Array]>; legacySeed?: Uint8Array }> {
  if (!records || !options.store) return { records: [] };
  const list = await records.list();
  if (list.length > 0 || !('load' in options.store)) return { records: list };
  const legacy = await options.store.load(`nitro.node/${name}/identity`);
  return { records: [], legacySeed: legacy[legacy.length - 1] };
}

/**
 * Creates a node and joins the overlay. Resolves once the node has a first neighbor (or has no
 * contact, or joinTimeoutMs passed); the overlay keeps forming in the background.
 */
export async function createNode(options: CreateNodeOptions = {}): Promise<NitroNode & RpcNodeMethods & { sync: NodeSync; auth: NodeAuth }> {
  await init();
  const auth = options.auth ?? options.access ?? {};
  const authOptions = { ...auth, tokens: auth.tokens ?? options.tokens };
  // Access control ships in nitro-bls.wasm: a node configured with it loads that first.
  if (authConfigured(authOptions)) await loadBls();
  const name = options.name ?? randomName();
  checkIdentity(options);
  const records = options.store ? nodeRecords(options.store, name) : undefined;
  const stored = await storedRecords(options, records, name);
  const restoring = stored.records.length > 0;
  // Restarting, the identity is the stored one (an explicit identity must match it: the core checks).
  const seed = options.identity ?? (restoring ? stored.records.find(([k]) => k === 'node/identity')?.[1] : undefined)
    ?? stored.legacySeed ?? randomBytes(kSeedBytes);
  const pending = new PendingSink();
  const chosen = options.transport ?? memory();
  const transport = await (Array.isArray(chosen) ? multi(chosen) : chosen).open(pending, { name, id: peerIdOf(seed) });
  let core: NodeCore;
  let config: CoreConfig;
  try {
    config = {
      mode: options.mode, activeViewMax: options.activeViewMax, passiveViewMax: options.passiveViewMax,
      meshDegree: options.meshDegree, meshGossipPeers: options.meshGossipPeers,
      timers: options.timers, limits: options.limits,
      identitySeed: restoring && !options.identity ? undefined : seed,
      records: restoring ? stored.records : undefined,
      entropy: randomBytes(kSeedBytes),
      listenAddress: transport.listenAddress,
      bootstrap: [...(options.bootstrap ?? []), ...transport.bootstrap].filter((a, i, all) => a !== transport.listenAddress && all.indexOf(a) === i),
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
  let withAuth: NitroNode & { auth: NodeAuth };
  try {
    // Before start: the tokens are presented on the node's first links.
    withAuth = attachAuth(node, authOptions);
  } catch (e) {
    await node.close();
    throw e;
  }
  pending.attach(node.sink);
  if (options.broker) {
    try {
      node.attachBroker(await options.broker.open({ seed, id: node.id, name, report: (e) => node.reportError(e) }));
    } catch (e) {
      await node.close();
      throw e;
    }
  }
  node.start();
  if (options.discovery) {
    try {
      const found = await options.discovery.open({
        id: node.id, name, address: node.address, join: (a) => node.join(a), report: (e) => node.reportError(e),
      });
      node.closeWith(() => found.close());
    } catch (e) {
      await node.close();
      throw e;
    }
  }
  const joinTimeoutMs = options.joinTimeoutMs ?? kJoinTimeoutMsDefault;
  // Contacts: the bootstrap list, or peers remembered in restored state (now the passive view).
  const hasContacts = config.bootstrap.length > 0 || node.passiveView().length > 0;
  if (joinTimeoutMs > 0 && hasContacts) await node.joined(joinTimeoutMs);
  // Every node speaks RPC: handle/call/stream/clientStream/bidi, with services advertised by gossip.
  try {
    return attachSync(attachRpc(withAuth, options.rpc), options.sync);
  } catch (e) {
    await node.close();  // invalid RPC or sync options: INVALID_ARGUMENT naming the field
    throw e;
  }
}
