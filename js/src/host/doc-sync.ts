// Replicated CRDT documents over a NitroNode: `node.doc(name)` returns a Doc kept in sync with every
// other node that opened a document of the same name. The protocol is the core's crdt::DocSync
// (core/include/nitro/docsync.h: gossip, state-vector anti-entropy with new and random peers, late
// joiners, writer checks, rejection reports, what to persist and when to compact). It is attached
// to the node's core under channel `doc.sync` (bindings/crdt.cpp); this layer keeps only what a
// host owns:
//   * the `Doc` API: local updates are handed to the core (which stores, then gossips them);
//     updates the core applied arrive as its 'applied' events and are re-emitted as the Doc's
//     'update' events with this layer's origin;
//   * storage I/O: the records the core writes (its StoreOps) reach this layer through the node's
//     write-ahead drain (routeStore) and go to the document's store, in order, before the frames
//     drained after them leave; on open, the stored records are read and handed to the core;
//   * 'rejected' events and stats, from the core's events and counters.
// No timer, clock or random number lives here: anti-entropy rounds run on the node's one timer.
// Bound: ≤ kOutboxMax local updates queued for the core per microtask (beyond: left to anti-entropy).
import { codec } from '../codec.js';
import { Doc, type DocOptions } from '../doc.js';
import { NitroError, unwrap } from '../errors.js';
import { Evented } from '../events.js';
import { tokenRef } from '../auth.js';
import type { DocStore } from '../store.js';
import { getModule } from '../wasm.js';
import type { NitroNode } from './node.js';
import type { RecordOp } from './records.js';

export interface DocSyncOptions {
  /** Loads the document from this store and persists what the core decides to keep. */
  store?: DocStore;
  /** Signs every local transaction (see DocOptions.signer). */
  signer?: DocOptions['signer'];
  /** Accepts only updates signed by these public keys (see DocOptions.writers). */
  writers?: Uint8Array[];
  /** Replica id (see DocOptions.clientId). */
  clientId?: number;
  /** Mean interval of anti-entropy rounds in ms (default 3000; jittered ×0.5..1.5 by the core). */
  antiEntropyMs?: number;
  /** Peers asked per anti-entropy round (default 2). */
  antiEntropyPeers?: number;
  /** Replaces the stored log by one snapshot after this many stored updates (default 64). */
  compactEvery?: number;
  /**
   * The token (bytes, or its id in hex) this node writes the document with: every update it sends
   * names it, and receivers authorize doc.write with exactly that token of the ones this node
   * presented (PERMISSION_DENIED, reported by their `rejected` event, if it is unknown there,
   * expired, revoked or does not grant doc.write on this document). Default: all live tokens.
   */
  authToken?: Uint8Array | string;
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
  /** Publishes refused (backpressure, closed node, a burst beyond the outbox): anti-entropy repairs them. */
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
  /** Sends that failed (peer gone, backpressure). */
  sendFailed: number;
  /** Remote updates skipped because the app held a transaction open (anti-entropy resends them). */
  busy: number;
  /** Records written to the store (updates), and compactions. */
  stored: number;
  compactions: number;
}

export type DocRejectedListener = (ev: RejectedUpdate) => void;
export type DocErrorListener = (error: unknown) => void;

/** Topic of a document's gossip. */
export const docTopic = (name: string): string => `doc/${name}`;
/** The channel of the core's DocSync protocol. */
export const kDocSyncChannel = 'doc.sync';

const kNameBytesMax = 200;
const kDocsMax = 1024;
const kOutboxMax = 1024;

const replicas = new WeakMap<Doc, DocReplica>();
const hubs = new WeakMap<NitroNode, Hub>();

const emptyStats = (): DocSyncStats => ({
  published: 0, sentDirect: 0, publishFailed: 0, vectorsSent: 0, deltasSent: 0, applied: 0, rejected: 0,
  malformed: 0, sendFailed: 0, busy: 0, stored: 0, compactions: 0,
});

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

function hex(name: string): string {
  return [...new TextEncoder().encode(name)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

type CoreDocEvent =
  | { type: 'applied'; doc: string; via: string; from: string; update: Uint8Array }
  | { type: 'rejected'; doc: string; via: RejectedUpdate['via']; from: string; code: string; message: string; bytes: number }
  | { type: 'synced'; doc: string; from: string };

// One per node: attaches the core's DocSync, routes its events and its store writes to replicas.
class Hub {
  readonly docs = new Map<string, DocReplica>();
  private readonly offs: Array<() => void>;

  constructor(readonly node: NitroNode) {
    node.run((core) => unwrap(getModule().docSyncAttach(core)));
    this.offs = [
      node.beforeClose(() => this.closing()),
      node.onProtocol(kDocSyncChannel, (bytes) => this.onEvent(codec.decode(bytes) as CoreDocEvent)),
      node.routeStore(`${kDocSyncChannel}/`, (ops) => this.write(ops)),
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

  // The node is closing: local updates still queued for the core go to it now, so the core writes
  // them ahead (the node then waits for those writes) before it is freed.
  private closing(): void {
    for (const r of [...this.docs.values()]) r.closing();
  }

  forget(replica: DocReplica): void {
    if (this.docs.get(replica.name) === replica) this.docs.delete(replica.name);
    if (this.docs.size > 0) return;
    for (const off of this.offs) off();
    hubs.delete(this.node);
  }

  /** Runs a core call; the node drains its output (store writes included) afterwards. */
  run<T>(fn: (core: unknown) => T): T {
    return this.node.run((core) => fn(core));
  }

  // The core's durable writes for documents (keys `doc.sync/<hex name>/...`), routed here by the
  // node's write-ahead drain: the frames drained after them leave once these promises resolve.
  private write(ops: RecordOp[]): Promise<void> {
    const writes: Array<Promise<void>> = [];
    for (const op of ops) {
      const rest = op.key.slice(kDocSyncChannel.length + 1);
      const slash = rest.indexOf('/');
      for (const r of this.docs.values()) {
        if (r.hexName === rest.slice(0, slash)) writes.push(r.storeOp(rest.slice(slash + 1), op.value ?? null));
      }
    }
    return Promise.all(writes).then(() => {});
  }

  private onEvent(ev: CoreDocEvent): void {
    const replica = this.docs.get(ev.doc);
    if (!replica) return;
    if (ev.type === 'applied') replica.onApplied(ev.update);
    else if (ev.type === 'synced') replica.doc.markSynced();
    else if (ev.type === 'rejected') {
      replica.onRejected({ from: ev.from, via: ev.via, code: ev.code, message: ev.message, bytes: Number(ev.bytes) });
    }
  }
}

/** One replicated document on one node. */
/** DocReplica events: updates the core refused, and failures no caller can catch. */
export interface DocReplicaEvents {
  rejected: [RejectedUpdate];
  error: [unknown];
}

export class DocReplica extends Evented<DocReplicaEvents> {
  readonly doc: Doc;
  /** Resolves when the stored state is loaded and the document syncs (at once without a store). */
  readonly ready: Promise<void>;
  /** @internal */ readonly hexName: string;

  private readonly origin = Symbol('nitro.doc-sync');
  private readonly offs: Array<() => void> = [];
  private readonly jsStats = { publishFailed: 0 };
  private lastStats: DocSyncStats = emptyStats();
  private readonly store: DocStore | undefined;
  private storeTail: Promise<void> = Promise.resolve();
  private storeFailure: unknown;
  private outbox: Uint8Array[] = [];
  private overflowed = false;
  private opened = false;
  private closed = false;

  constructor(private readonly hub: Hub, readonly name: string, private readonly options: DocSyncOptions) {
    super();
    this.hexName = hex(name);
    this.store = options.store;
    this.doc = new Doc({ signer: options.signer, writers: options.writers, clientId: options.clientId });
    replicas.set(this.doc, this);
    this.doc.presenceFactory = () => hub.node.presence(name);
    this.offs.push(this.doc.on('update', (update, origin) => this.onLocal(update, origin)));
    this.doc.beforeDestroy(() => this.detach());  // the core borrows the Doc: it must let go first
    if (this.store) {
      this.ready = this.load(this.store);
      this.ready.catch((e) => this.emitError(e));  // the caller may never await `ready`
    } else {
      this.openCore([]);
      this.ready = Promise.resolve();
    }
  }

  /** Counters of the core's protocol for this document (and of this layer's outbox). */
  get stats(): DocSyncStats {
    this.refreshStats();
    return { ...this.lastStats, publishFailed: this.lastStats.publishFailed + this.jsStats.publishFailed };
  }

  private refreshStats(): void {
    if (!this.opened || this.closed || this.hub.node.closed) return;
    const core = getModule().docSyncStats(this.hub.node.core, this.name) as DocSyncStats | undefined;
    if (core) this.lastStats = core;
  }

  /** Resolves when every update so far is durable in the store (at once without one). */
  async flush(): Promise<void> {
    await this.ready;
    this.drainOutbox();
    // The node queues write-ahead batches and hands the next to this replica only when the one
    // before is durable: wait for the queue, not only for the writes already handed over.
    await this.hub.node.storeWritten();
    await this.storeTail;
    if (this.storeFailure) throw this.storeFailure;
  }

  /** Starts a vector exchange with every linked peer now (normally periodic and on link events). */
  syncNow(): void {
    if (!this.opened || this.closed || this.hub.node.closed) return;
    this.hub.run((core) => unwrap(getModule().docSyncNow(core, this.name)));
  }

  /** @internal The node closes: queued local updates go to the core now (it writes them ahead). */
  closing(): void {
    this.drainOutbox();
  }

  /** Resolves once caught up with at least one peer (see Doc.synced). */
  get synced(): Promise<void> {
    return this.doc.synced;
  }

  /** Stops replicating (the Doc stays usable locally), flushes and detaches the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => {});
    this.detach();
    await this.storeTail.catch(() => {});
    this.closeEvents('document replica');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // The core stops replicating (and borrowing) the Doc; the last counters are kept.
  private detach(): void {
    if (this.closed) return;
    this.refreshStats();
    this.closed = true;
    for (const off of this.offs.splice(0)) off();
    if (this.opened && !this.hub.node.closed) this.hub.run((core) => getModule().docSyncClose(core, this.name));
    this.hub.forget(this);
  }

  // ---- the core -------------------------------------------------------------------------------

  private openCore(records: Array<[string, Uint8Array]>): void {
    if (this.closed || this.hub.node.closed) return;
    const { antiEntropyMs, antiEntropyPeers, compactEvery } = this.options;
    const token = this.options.authToken === undefined ? undefined : tokenRef(this.options.authToken);
    const opts = { persist: this.store !== undefined, antiEntropyMs, antiEntropyPeers, compactEvery, token };
    this.hub.run((core) => unwrap(getModule().docSyncOpen(core, this.name, this.doc.core, opts, records)));
    this.opened = true;
    this.drainOutbox();
  }

  /** @internal A remote update the core applied to the Doc. */
  onApplied(update: Uint8Array): void {
    this.doc.emitApplied(update, this.origin);
  }

  /** @internal */
  onRejected(ev: RejectedUpdate): void {
    try {
      this.emit('rejected', ev);
    } catch (err) {
      this.emitError(err);
    }
  }

  private onLocal(update: Uint8Array, origin: unknown): void {
    if (origin === this.origin || this.closed) return;
    if (this.outbox.length >= kOutboxMax) {
      this.jsStats.publishFailed++;  // a burst beyond the bound: the next vector exchange carries it
      this.overflowed = true;
      return;
    }
    // Handed over after the Doc's own listeners ran: the node's events must not re-enter the Doc
    // from inside its update dispatch.
    if (this.outbox.push(update) === 1) queueMicrotask(() => this.drainOutbox());
  }

  private drainOutbox(): void {
    if (!this.opened || this.closed || this.hub.node.closed) return;
    const updates = this.outbox;
    this.outbox = [];
    if (updates.length > 0) {
      const mod = getModule();
      this.hub.run((core) => {
        for (const u of updates) unwrap(mod.docSyncLocal(core, this.name, u));
      });
    }
    if (this.overflowed) {
      this.overflowed = false;
      this.syncNow();
    }
  }

  // ---- storage I/O ----------------------------------------------------------------------------
  // The store keeps, per document, a log of updates and snapshots that replace it: the core's
  // records map onto it ("u/<seq>" appends, "s" compacts; deleting a logged key is implied by the
  // compaction that precedes it).

  private async load(store: DocStore): Promise<void> {
    await null;  // the hub registers this replica before the core talks to peers
    let records: Array<[string, Uint8Array]> = [];
    try {
      const updates = await store.load(this.name);
      records = updates.map((u, i) => [`${this.hexName}/u/${(i + 1).toString(16).padStart(16, '0')}`, u]);
    } finally {
      this.openCore(records);  // a failed store still leaves the replica syncing (`ready` rejects)
    }
  }

  /** @internal A record the core wants durable (relative to this document), or null to delete. */
  storeOp(key: string, value: Uint8Array | null): Promise<void> {
    const store = this.store;
    if (!store || value === null) return Promise.resolve();
    if (key === 's') return this.serial(() => store.compact(this.name, value));
    return this.serial(() => store.append(this.name, value));
  }

  // Store calls run one after another, in the order the core queued them.
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.storeTail.then(fn);
    this.storeTail = p.then(() => {}, (e) => {
      this.storeFailure ??= e;
      this.emitError(e);
    });
    return p;
  }

  private emitError(error: unknown): void {
    if (this.listenerCount('error') === 0) {
      console.error(`nitro: doc '${this.name}':`, error);
      return;
    }
    this.emit('error', error);
  }
}
