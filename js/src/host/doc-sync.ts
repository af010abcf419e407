// Replicated CRDT documents over a NitroNode: `node.doc(name)` returns a Doc kept in sync with every
// other node that opened a document of the same name. Contract:
//   * Gossip: each update the Doc emits with an origin other than this layer (local edits) is
//     published on topic `doc/<name>` as raw update bytes; a received one is applied with this
//     layer's origin, so it is never published again (no echo). Updates too large for one gossip
//     payload go to every linked peer over the direct channel instead.
//   * Anti-entropy on direct channel `doc.sync`: when the doc opens, when a peer link or gossip
//     neighbor comes up, and every `antiEntropyMs` (jittered ×0.5..1.5) with at most
//     `antiEntropyPeers` random peers, a node sends its state vector asking for the other's; the
//     other answers with `encodeStateAsUpdate(vector)` and its own vector, which the first answers
//     with its delta. Late joiners and nodes that missed gossip thus converge.
//   * A remote update the Doc refuses (PERMISSION_DENIED, UNAUTHENTICATED, DECODE_ERROR, ...) leaves
//     it unchanged; it is counted and reported as a 'rejected' event of the DocReplica
//     (`replicaOf(doc)`). Malformed sync messages are counted and dropped.
//   * With `store`, stored updates are loaded first (`replica.ready`), then every update is
//     appended through persist(); `replica.flush()` resolves when all updates so far are durable.
// Bounds: ≤ kOutboxMax local updates queued for publication (beyond: left to anti-entropy),
// one reassembly per peer (≤ kPartsMax parts of kPartBytes), ≤ kDocsMax docs per node,
// ≤ antiEntropyPeers vectors per doc per round, one vector exchange per peer and doc per
// kPeerSyncMinMs when triggered by link events.
import { codec, type NitroValue } from '../codec.js';
import { Doc, type DocOptions } from '../doc.js';
import { NitroError } from '../errors.js';
import { persist, type DocStore, type Persistence } from '../store.js';
import type { DirectMessage, MessageMeta, NitroNode, PeerEvent } from './node.js';

export interface DocSyncOptions {
  /** Loads the document from this store and persists every update to it. */
  store?: DocStore;
  /** Signs every local transaction (see DocOptions.signer). */
  signer?: DocOptions['signer'];
  /** Accepts only updates signed by these public keys (see DocOptions.writers). */
  writers?: Uint8Array[];
  /** Replica id (see DocOptions.clientId). */
  clientId?: number;
  /** Mean interval of anti-entropy rounds in ms (default 3000; jittered ×0.5..1.5). */
  antiEntropyMs?: number;
  /** Peers asked per anti-entropy round (default 2). */
  antiEntropyPeers?: number;
  /** Compacts the stored log after this many appended updates (persist's compactEvery). */
  compactEvery?: number;
}

/** A remote (or stored) update the document refused; the document is unchanged. */
export interface RejectedUpdate {
  /** Peer id of the node it came from (the publisher for gossip), or 'store'. */
  from: string;
  via: 'gossip' | 'sync' | 'store';
  /** The NitroError code: PERMISSION_DENIED, UNAUTHENTICATED, DECODE_ERROR, ... */
  code: string;
  message: string;
  bytes: number;
}

export interface DocSyncStats {
  /** Local updates published as gossip. */
  published: number;
  /** Local updates sent over the direct channel because they exceed one gossip payload. */
  sentDirect: number;
  /** Publishes refused (backpressure, closed node): anti-entropy repairs them. */
  publishFailed: number;
  /** State vectors sent. */
  vectorsSent: number;
  /** Deltas sent in answer to a vector. */
  deltasSent: number;
  /** Remote updates (gossip or delta) applied without error (duplicates included). */
  applied: number;
  /** Remote or stored updates refused. */
  rejected: number;
  /** Sync messages that did not decode or had bad fields. */
  malformed: number;
  /** sendDirect calls that failed (peer gone, backpressure). */
  sendFailed: number;
  /** Remote updates skipped because the app held a transaction open (anti-entropy resends them). */
  busy: number;
}

export type DocRejectedListener = (ev: RejectedUpdate) => void;
export type DocErrorListener = (error: unknown) => void;

/** Topic of a document's gossip. */
export const docTopic = (name: string): string => `doc/${name}`;
/** The direct channel of vector exchange. */
export const kDocSyncChannel = 'doc.sync';

const kNameBytesMax = 200;             // the topic `doc/<name>` stays under the 256-byte topic limit
const kGossipBytesMax = 500 * 1024;    // under the core's 512 KiB publish payload, with msgpack overhead
const kPartBytes = 448 * 1024;         // a direct message, like a publish, carries at most 512 KiB
const kPartsMax = 80;                  // 35 MiB: above the core's 32 MB update limit
const kDocsMax = 1024;
const kOutboxMax = 1024;               // local updates awaiting publication (one microtask's worth)
const kPeerSyncMinMs = 1000;
const kAntiEntropyMsDefault = 3000;
const kAntiEntropyPeersDefault = 2;

const replicas = new WeakMap<Doc, DocReplica>();
const hubs = new WeakMap<NitroNode, Hub>();

/** The replica behind a Doc returned by node.doc(), for its events, stats, readiness and flush. */
export function replicaOf(doc: Doc): DocReplica | undefined {
  return replicas.get(doc);
}

/** node.doc(name, options): the replicated Doc for `name` (options apply when it is first opened). */
export function openDoc(node: NitroNode, name: string, options: DocSyncOptions = {}): Doc {
  let hub = hubs.get(node);
  if (!hub) hubs.set(node, (hub = new Hub(node)));
  return hub.open(name, options).doc;
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new NitroError('INVALID_ARGUMENT', 'a document name is a non-empty string');
  if (new TextEncoder().encode(name).length > kNameBytesMax) {
    throw new NitroError('INVALID_ARGUMENT', `a document name has at most ${kNameBytesMax} UTF-8 bytes`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface Reassembly { doc: string; id: number; parts: Uint8Array[]; count: number }

// One per node: routes direct messages and link events to the node's replicas.
class Hub {
  readonly docs = new Map<string, DocReplica>();
  private readonly reassembly = new Map<string, Reassembly>();
  private readonly offs: Array<() => void>;
  private nextPartId = 1;

  constructor(readonly node: NitroNode) {
    const up = (ev: PeerEvent) => {
      for (const r of this.docs.values()) r.peerUp(ev.id);
    };
    this.offs = [
      node.on('direct', (ev) => this.onDirect(ev)),
      node.on('peer:up', up),
      node.on('neighbor:up', up),
      node.on('peer:down', (ev) => void this.reassembly.delete(ev.id)),
    ];
  }

  open(name: string, options: DocSyncOptions): DocReplica {
    checkName(name);
    const existing = this.docs.get(name);
    if (existing) return existing;
    if (this.docs.size >= kDocsMax) throw new NitroError('RESOURCE_EXHAUSTED', `at most ${kDocsMax} documents per node`);
    const replica = new DocReplica(this, name, options);
    this.docs.set(name, replica);
    return replica;
  }

  forget(replica: DocReplica): void {
    if (this.docs.get(replica.name) === replica) this.docs.delete(replica.name);
    if (this.docs.size > 0) return;
    for (const off of this.offs) off();
    hubs.delete(this.node);
  }

  /** Sends one sync message; a refusal (peer gone, backpressure, node closed) counts in `stats`. */
  send(peer: string, msg: Record<string, NitroValue>, stats: DocSyncStats): void {
    if (this.node.closed) {
      stats.sendFailed++;
      return;
    }
    this.node.sendDirect(peer, kDocSyncChannel, codec.encode(msg)).catch(() => void stats.sendFailed++);
  }

  /** Sends an update, split into parts when it exceeds one frame. */
  sendUpdate(peer: string, doc: string, update: Uint8Array, stats: DocSyncStats): void {
    if (update.length <= kPartBytes) return this.send(peer, { k: 'up', d: doc, u: update }, stats);
    const count = Math.ceil(update.length / kPartBytes);
    if (count > kPartsMax) {
      stats.sendFailed++;
      return;
    }
    const id = this.nextPartId++;
    for (let i = 0; i < count; i++) {
      const b = update.subarray(i * kPartBytes, Math.min(update.length, (i + 1) * kPartBytes));
      this.send(peer, { k: 'part', d: doc, id, i, n: count, b }, stats);
    }
  }

  private onDirect(ev: DirectMessage): void {
    if (ev.channel !== kDocSyncChannel) return;
    let msg: NitroValue;
    try {
      msg = codec.decode(ev.bytes);
    } catch {
      msg = undefined;
    }
    const m = (msg && typeof msg === 'object' && !(msg instanceof Uint8Array) && !Array.isArray(msg) ? msg : {}) as Record<string, NitroValue>;
    const replica = typeof m.d === 'string' ? this.docs.get(m.d) : undefined;
    if (!replica) return;  // a document we do not hold (or garbage): nothing to answer
    if (m.k === 'sv' && m.v instanceof Uint8Array) return replica.onVector(ev.from, m.v, m.a === true);
    if (m.k === 'up' && m.u instanceof Uint8Array) return replica.applyRemote(m.u, ev.from, 'sync');
    if (m.k === 'part' && this.onPart(ev.from, replica, m)) return;
    replica.stats.malformed++;
  }

  // Parts arrive in order on one link; a part out of sequence drops the reassembly.
  private onPart(peer: string, replica: DocReplica, m: Record<string, NitroValue>): boolean {
    const { id, i, n, b } = m;
    if (typeof id !== 'number' || typeof i !== 'number' || typeof n !== 'number' || !(b instanceof Uint8Array)) return false;
    if (!Number.isInteger(n) || n < 2 || n > kPartsMax || b.length > kPartBytes) return false;
    let r = this.reassembly.get(peer);
    if (i === 0) this.reassembly.set(peer, (r = { doc: replica.name, id, parts: [], count: n }));
    if (!r || r.id !== id || r.doc !== replica.name || r.count !== n || r.parts.length !== i) {
      this.reassembly.delete(peer);
      return false;
    }
    r.parts.push(b);
    if (r.parts.length < n) return true;
    this.reassembly.delete(peer);
    const whole = new Uint8Array(r.parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of r.parts) {
      whole.set(p, at);
      at += p.length;
    }
    replica.applyRemote(whole, peer, 'sync');
    return true;
  }
}

/** One replicated document on one node. */
export class DocReplica {
  readonly doc: Doc;
  /** Resolves when the stored state is loaded and persistence runs (at once without a store). */
  readonly ready: Promise<void>;
  readonly stats: DocSyncStats = {
    published: 0, sentDirect: 0, publishFailed: 0, vectorsSent: 0, deltasSent: 0,
    applied: 0, rejected: 0, malformed: 0, sendFailed: 0, busy: 0,
  };

  private readonly origin = Symbol('nitro.doc-sync');
  private readonly loadedOrigin = Symbol('nitro.doc-sync.store');
  private readonly rejectedListeners = new Set<DocRejectedListener>();
  private readonly errorListeners = new Set<DocErrorListener>();
  private readonly lastPeerSync = new Map<string, number>();
  private readonly antiEntropyMs: number;
  private readonly antiEntropyPeers: number;
  private readonly offs: Array<() => void> = [];
  private persistence: Persistence | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private outbox: Uint8Array[] = [];
  private loaded = false;
  private persisting = false;   // persist() listens to the Doc's updates
  private unpersisted = false;  // an update was emitted before it did
  private overflowed = false;   // the outbox dropped updates since it was last drained
  private closed = false;

  constructor(private readonly hub: Hub, readonly name: string, options: DocSyncOptions) {
    this.antiEntropyMs = Math.max(10, options.antiEntropyMs ?? kAntiEntropyMsDefault);
    this.antiEntropyPeers = Math.max(1, Math.floor(options.antiEntropyPeers ?? kAntiEntropyPeersDefault));
    this.doc = new Doc({ signer: options.signer, writers: options.writers, clientId: options.clientId });
    replicas.set(this.doc, this);
    const node = hub.node;
    this.offs.push(node.subscribe(docTopic(name), (msg, meta) => this.onGossip(msg, meta)));
    this.offs.push(this.doc.on('update', (update, origin) => this.onLocal(update, origin)));
    this.ready = this.load(options);
    this.ready.catch((e) => this.emitError(e));  // the caller may never await `ready`
  }

  on(event: 'rejected', fn: DocRejectedListener): () => void;
  on(event: 'error', fn: DocErrorListener): () => void;
  on(event: 'rejected' | 'error', fn: DocRejectedListener | DocErrorListener): () => void {
    if (event !== 'rejected' && event !== 'error') throw new TypeError(`unknown DocReplica event '${String(event)}'`);
    const set = (event === 'rejected' ? this.rejectedListeners : this.errorListeners) as Set<unknown>;
    set.add(fn);
    return () => void set.delete(fn);
  }

  /** Resolves when every update so far is durable in the store (at once without one). */
  async flush(): Promise<void> {
    await this.ready;
    await this.persistence?.flush();
  }

  /** Starts a vector exchange with every linked peer now (normally periodic and on link events). */
  syncNow(): void {
    for (const peer of this.candidates()) this.sendVector(peer, true);
  }

  /** Stops replicating (the Doc stays usable locally), flushes and detaches the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const off of this.offs.splice(0)) off();
    this.hub.forget(this);
    await this.ready.catch(() => {});
    await this.persistence?.close();
  }

  // ---- loading --------------------------------------------------------------------------------

  private async load(options: DocSyncOptions): Promise<void> {
    await null;  // the hub registers this replica before it talks to peers
    try {
      if (options.store) await this.attachStore(options.store, options.compactEvery);
    } finally {
      this.loaded = true;  // a failed store still leaves the replica syncing (`ready` rejects)
      if (!this.closed) {
        this.syncNow();
        this.schedule();
      }
    }
  }

  private async attachStore(store: DocStore, compactEvery: number | undefined): Promise<void> {
    const serial = serialized(store);
    // persist() appends from here on; the stored updates are applied here so they are not gossiped.
    const loading: DocStore = { ...serial, load: async (n) => this.applyStored(await serial.load(n)) };
    this.persistence = await persist(this.doc, loading, this.name, { compactEvery });
    this.persisting = true;
    // Updates emitted before persist() listened are covered by one snapshot.
    if (this.unpersisted) await serial.append(this.name, this.doc.encodeState());
  }

  private applyStored(updates: Uint8Array[]): Uint8Array[] {
    for (const u of updates) this.apply(u, 'store', 'store', this.loadedOrigin);
    return [];
  }

  // ---- gossip ---------------------------------------------------------------------------------

  private onLocal(update: Uint8Array, origin: unknown): void {
    if (origin === this.loadedOrigin) return;
    if (!this.persisting) this.unpersisted = true;
    if (origin === this.origin || this.closed) return;
    // Published after the Doc's own listeners ran: publishing pumps the node, whose events must not
    // re-enter the Doc from inside its update dispatch.
    if (this.outbox.length >= kOutboxMax) {
      this.stats.publishFailed++;  // a burst beyond the bound: the next vector exchange carries it
      this.overflowed = true;
      return;
    }
    if (this.outbox.push(update) === 1) queueMicrotask(() => this.drainOutbox());
  }

  private drainOutbox(): void {
    const updates = this.outbox;
    this.outbox = [];
    if (this.overflowed) {
      this.overflowed = false;
      this.syncNow();
    }
    const node = this.hub.node;
    for (const update of updates) {
      if (this.closed || node.closed) return;
      if (update.length > kGossipBytesMax) {
        for (const peer of this.candidates()) this.hub.sendUpdate(peer, this.name, update, this.stats);
        this.stats.sentDirect++;
        continue;
      }
      this.stats.published++;
      node.publish(docTopic(this.name), update).catch(() => {
        this.stats.published--;
        this.stats.publishFailed++;
      });
    }
  }

  private onGossip(msg: NitroValue, meta: MessageMeta): void {
    if (meta.from === this.hub.node.id) return;  // our own publish, delivered to us too
    if (!(msg instanceof Uint8Array)) {
      this.stats.malformed++;
      return;
    }
    this.applyRemote(msg, meta.from, 'gossip');
  }

  // ---- anti-entropy ---------------------------------------------------------------------------

  /** @internal A peer link or gossip neighbor came up. */
  peerUp(peer: string): void {
    if (!this.loaded || this.closed) return;
    const now = performance.now();
    const last = this.lastPeerSync.get(peer);
    if (last !== undefined && now - last < kPeerSyncMinMs) return;
    if (this.lastPeerSync.size >= 4096) this.lastPeerSync.clear();  // bounded; only a rate limit
    this.lastPeerSync.set(peer, now);
    this.sendVector(peer, true);
  }

  /** @internal A peer's state vector: answer with what it lacks (and ask back when told to). */
  onVector(peer: string, vector: Uint8Array, askBack: boolean): void {
    if (this.closed) return;
    const mine = this.doc.encodeStateVector();
    if (sameBytes(mine, vector)) return;
    let delta: Uint8Array;
    try {
      delta = this.doc.encodeStateAsUpdate(vector);
    } catch {
      this.stats.malformed++;
      return;
    }
    this.hub.sendUpdate(peer, this.name, delta, this.stats);
    this.stats.deltasSent++;
    if (askBack) this.sendVector(peer, false, mine);
  }

  private sendVector(peer: string, askBack: boolean, vector = this.doc.encodeStateVector()): void {
    this.hub.send(peer, { k: 'sv', d: this.name, v: vector, a: askBack }, this.stats);
    this.stats.vectorsSent++;
  }

  private schedule(): void {
    const delayMs = this.antiEntropyMs * (0.5 + Math.random());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || this.hub.node.closed) return;  // stops with the node
      this.round();
      this.schedule();
    }, delayMs);
    // The periodic round must not keep a Node.js process alive on its own.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private round(): void {
    const peers = this.candidates();
    for (let i = 0; i < this.antiEntropyPeers && peers.length > 0; i++) {
      const [peer] = peers.splice(Math.floor(Math.random() * peers.length), 1);
      this.sendVector(peer!, true);
    }
  }

  /** Gossip neighbors and linked peers, each once. */
  private candidates(): string[] {
    const node = this.hub.node;
    if (node.closed) return [];
    return [...new Set([...node.neighbors(), ...node.peers().map((p) => p.id)])];
  }

  // ---- applying -------------------------------------------------------------------------------

  /** @internal */
  applyRemote(update: Uint8Array, from: string, via: 'gossip' | 'sync'): void {
    if (!this.closed) this.apply(update, from, via, this.origin);
  }

  private apply(update: Uint8Array, from: string, via: RejectedUpdate['via'], origin: symbol): void {
    try {
      this.doc.applyUpdate(update, origin);
      if (via !== 'store') this.stats.applied++;
    } catch (e) {
      const code = e instanceof NitroError ? e.code : 'INTERNAL';
      if (code === 'FAILED_PRECONDITION' && via !== 'store') {
        this.stats.busy++;  // arrived while the app holds a transaction open: anti-entropy resends it
        return;
      }
      this.stats.rejected++;
      const ev: RejectedUpdate = { from, via, code, message: (e as Error).message, bytes: update.length };
      for (const fn of [...this.rejectedListeners]) {
        try {
          fn(ev);
        } catch (err) {
          this.emitError(err);
        }
      }
    }
  }

  private emitError(error: unknown): void {
    if (this.errorListeners.size === 0) {
      console.error(`nitro: doc '${this.name}':`, error);
      return;
    }
    for (const fn of [...this.errorListeners]) fn(error);
  }
}

// A store whose calls run one after another: persist() and the catch-up snapshot append share it.
function serialized(store: DocStore): DocStore {
  let tail: Promise<unknown> = Promise.resolve();
  const run = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = tail.then(fn);
    tail = p.catch(() => {});
    return p;
  };
  return {
    load: (name) => run(() => store.load(name)),
    append: (name, update) => run(() => store.append(name, update)),
    compact: (name, snapshot) => run(() => store.compact(name, snapshot)),
    close: () => store.close(),
  };
}
