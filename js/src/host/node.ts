// The JS host of a nitro::Node: it drives the sans-IO core (bindings/node.cpp) with a transport,
// timers and the clock, per the contract in core/include/nitro/node.h:
//   * every input (a frame, a transport opening or closing, a timer, an API call) is pushed into
//     the core, then the core's output is drained at once: frames go to the transport, kDial and
//     kHangup open and close transports, the rest become JS events;
//   * one timer is armed for next_deadline(); time is performance.now() in milliseconds;
//   * durable state is written ahead: the store ops of a drain go to the node's record store as
//     one batch, and the transmits of that drain and of every later one leave only once every
//     batch before them is durable. A SIGKILL therefore never lets a peer see an effect (a
//     sequence number, a vote) that the restarted node could forget. A failed write stops all
//     sending (fail-stop) and is reported as an 'error' event.
//
// Hook for protocols written in C++ (RPC, CRDT sync, beacon): their binding takes the NodeCore
// (`node.core`) and attaches a nitro::Protocol; the JS layer calls it through `node.run(fn)`, which
// drains the node afterwards, and hears the protocol's events with `node.onProtocol(channel, fn)`.
// JS-only protocols use `sendDirect(peer, channel, bytes)` and the 'direct' event instead.
import { codec, type NitroValue } from '../codec.js';
import { getModule } from '../wasm.js';
import { authAttached } from '../auth.js';
import { NitroError, unwrap } from '../errors.js';
import { Evented, type PayloadEvents } from '../events.js';
import type { CoreEvent, NodeCore, NodeStats, PeerInfo } from './core.js';
import { recordOps, type NodeRecordStore, type RecordOp } from './records.js';
import { openPresence, type Presence, type PresenceOptions } from '../presence.js';
import { openBeacon, type BeaconNodeOptions, type NodeBeacon } from './beacon.js';
import { macrotask, type TransportInstance, type TransportSink } from './transport.js';
import type { Doc } from '../doc.js';
import { openDoc, type DocSyncOptions } from './doc-sync.js';
import type { BrokerInstance, SubscribeOptions } from '../broker/types.js';
import { Config, type ConfigOptions } from '../config.js';
import { openChain, type Chain, type ConsensusOptions } from '../chain.js';

/** What a subscriber learns about a delivered message besides its value. */
export interface MessageMeta {
  /** The publisher's peer id (its signature was verified). */
  from: string;
  topic: string;
  /** The publisher's sequence number on this topic (1, 2, ...); per publisher, delivery is in order. */
  seq: number;
  /** Overlay hops from the publisher (0 for our own messages). */
  hops: number;
  /** The neighbor that relayed it to us. */
  via: string;
  /** The subscription pattern it matched (e.g. 'orders.*'); absent through a broker. */
  pattern?: string;
  /** That subscription's queue group, when it has one. */
  queue?: string;
}

export type MessageHandler = (msg: NitroValue, meta: MessageMeta) => void;

/** A message as an async-iterated subscription yields it: its value and its meta. */
export interface Message extends MessageMeta {
  value: NitroValue;
}

export interface NodeSubscribeOptions extends SubscribeOptions {
  /** Ends the iteration (quietly, like unsubscribe()) when aborted. */
  signal?: AbortSignal;
  /**
   * Messages an iterated subscription buffers while the loop body runs (default 10000); past it
   * the iteration throws RESOURCE_EXHAUSTED (a slow consumer) instead of growing without bound.
   */
  bufferMax?: number;
}

/** `for await (const msg of node.subscribe(topic))`: ends on unsubscribe(), abort or node close. */
export interface Subscription extends AsyncIterable<Message> {
  readonly topic: string;
  readonly queue?: string;
  /** Messages buffered and not yet taken by the loop. */
  readonly pending: number;
  /** Stops delivery; the loop ends after the messages already buffered. Idempotent. */
  unsubscribe(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

const kSubscriptionBufferMaxDefault = 10000;

export interface PeerEvent { id: string; address: string }
export interface DirectMessage { from: string; channel: string; bytes: Uint8Array }
export interface ProtocolEvent { channel: string; bytes: Uint8Array }

export interface NodeEvents {
  'peer:up': PeerEvent;        // a secure link to a peer came up
  'peer:down': PeerEvent;      // that link closed or failed
  'neighbor:up': PeerEvent;    // the peer entered our gossip active view
  'neighbor:down': PeerEvent;  // it left it (failure detected, churn, replaced)
  direct: DirectMessage;       // sendDirect() from a peer, on a channel no C++ protocol claimed
  protocol: ProtocolEvent;     // an event emitted by an attached C++ protocol
  error: Error;                // a handler threw, or a delivered payload did not decode
}

export type NodeEventName = keyof NodeEvents;

const now = (): number => Math.floor(performance.now());

// A handler that publishes or sends re-enters the pump: the outer drain loop repeats instead, up to
// this many rounds per input; anything left then is drained in the next macrotask.
const kPumpRoundsMax = 64;

/** publish/sendDirect refuse while the transport holds more unsent bytes than this. */
export const kSendBufferBytesMaxDefault = 8 << 20;

export class NitroNode extends Evented<PayloadEvents<NodeEvents>> {
  /** This node's peer id: base32 text of its Ed25519 public key. */
  readonly id: string;
  /** The name given to createNode (the memory transport's address is `mem:<name>`). */
  readonly name: string;
  /** How other nodes dial this one ('' for a client-only node). */
  readonly address: string;

  private core_: NodeCore | undefined;
  private readonly transport: TransportInstance;
  private readonly records: NodeRecordStore | undefined;
  // Write-ahead: batches handed to the store (count) and made durable (count); frames held until
  // the batch count they were drained after is durable.
  private batchesQueued = 0;
  private batchesDurable = 0;
  private writes: Promise<void> = Promise.resolve();
  private storeFailed: Error | undefined;
  private readonly held: Array<{ after: number; address: string; bytes: Uint8Array }> = [];
  private readonly storeRoutes = new Map<string, (ops: RecordOp[]) => Promise<void>>();
  private readonly sendBufferBytesMax: number;
  // Subscriptions by core key (queue, NUL, pattern): the core emits one event per matching key.
  private readonly topics = new Map<string, Set<MessageHandler>>();
  private readonly iterators = new Set<() => void>();  // ended on close
  private readonly protocolListeners = new Map<string, Set<(bytes: Uint8Array) => void>>();
  private timerArmed = false;
  private pumping = false;
  private pumpAgain = false;
  private closing: Promise<void> | undefined;
  private started = false;
  private readonly joinWaiters = new Set<(ok: boolean) => void>();
  private broker: BrokerInstance | undefined;  // when set, publish/subscribe go through it
  private readonly closers: Array<() => Promise<void>> = [];  // discovery and the like, closed first
  private readonly beforeClosers = new Set<() => void>();      // run while the core still runs

  /** Use createNode(); this constructor is for the host's own wiring. */
  constructor(init: {
    core: NodeCore; name: string; transport: TransportInstance; records?: NodeRecordStore; sendBufferBytesMax?: number;
  }) {
    super();
    this.core_ = init.core;
    this.id = init.core.id();
    this.name = init.name;
    this.address = init.transport.listenAddress;
    this.transport = init.transport;
    this.records = init.records;
    this.sendBufferBytesMax = init.sendBufferBytesMax ?? kSendBufferBytesMaxDefault;
  }

  /** The embind NodeCore, for bindings that attach C++ protocols. Throws after close(). */
  get core(): NodeCore {
    if (!this.core_ || this.closed) throw new NitroError('FAILED_PRECONDITION', 'node is closed');
    return this.core_;
  }

  private get live(): boolean {
    return this.core_ !== undefined && this.closing === undefined;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Joins the overlay (bootstrap contacts from the config). createNode calls it; later calls do nothing. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.run((core, nowMs) => core.start(nowMs));
  }

  /** Joins through one more contact address. */
  join(contact: string): void {
    this.run((core, nowMs) => core.join(contact, nowMs));
  }

  // ---- pub/sub ------------------------------------------------------------------------------

  /**
   * With a handler: calls `handler(msg, meta)` for every message matching `topic` (including our
   * own) and returns `off`, which is idempotent. Without one: returns a Subscription to iterate
   * with `for await`. `topic` may be a NATS-style pattern: `orders.*` (one token), `orders.>` (one
   * or more). With `{ queue }`, subscribers of the same pattern and queue on any node form a
   * group and one of them gets each message (guarantee: docs/notes/pubsub.md).
   */
  subscribe(topic: string, handler: MessageHandler, options?: SubscribeOptions): () => void;
  subscribe(topic: string, options?: NodeSubscribeOptions): Subscription;
  subscribe(topic: string, handlerOrOptions?: MessageHandler | NodeSubscribeOptions, options?: SubscribeOptions): (() => void) | Subscription {
    if (typeof handlerOrOptions === 'function') return this.subscribeHandler(topic, handlerOrOptions, options);
    return this.subscribeIterator(topic, handlerOrOptions ?? {});
  }

  private subscribeHandler(topic: string, handler: MessageHandler, options?: SubscribeOptions): () => void {
    if (this.broker) {
      if (this.closed) throw new NitroError('FAILED_PRECONDITION', 'node is closed');
      return this.broker.subscribe(topic, handler, options);
    }
    const queue = options?.queue ?? '';
    if (typeof queue !== 'string') throw new NitroError('INVALID_ARGUMENT', 'queue must be a string');
    const key = `${queue}\u0000${topic}`;
    let handlers = this.topics.get(key);
    if (!handlers) {
      unwrap(this.core.subscribe(topic, queue));
      handlers = new Set();
      this.topics.set(key, handlers);
    }
    const mine = (msg: NitroValue, meta: MessageMeta) => handler(msg, meta);  // one entry per call
    handlers.add(mine);
    return () => {
      const current = this.topics.get(key);
      if (!current || !current.delete(mine) || current.size > 0) return;
      this.topics.delete(key);
      if (this.live) this.core_!.unsubscribe(topic, queue);  // cannot fail: the topic is subscribed
    };
  }

  private subscribeIterator(topic: string, options: NodeSubscribeOptions): Subscription {
    const bufferMax = options.bufferMax ?? kSubscriptionBufferMaxDefault;
    if (!Number.isSafeInteger(bufferMax) || bufferMax < 1) throw new NitroError('INVALID_ARGUMENT', 'bufferMax must be a positive integer');
    const buffer: Message[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let failure: Error | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      off();
      options.signal?.removeEventListener('abort', end);
      this.iterators.delete(end);
      wake?.();
    };
    if (options.signal?.aborted) ended = true;
    const off = ended ? () => {} : this.subscribeHandler(topic, (value, meta) => {
      if (buffer.length >= bufferMax) {
        failure = new NitroError('RESOURCE_EXHAUSTED', `subscription to ${topic} buffered ${bufferMax} messages the loop did not take`);
        return end();
      }
      buffer.push({ ...meta, value });
      wake?.();
    }, { queue: options.queue });
    if (!ended) {
      options.signal?.addEventListener('abort', end, { once: true });
      this.iterators.add(end);
    }
    async function* iterate(): AsyncGenerator<Message> {
      try {
        for (;;) {
          if (buffer.length > 0) {
            yield buffer.shift()!;
            continue;
          }
          if (failure) throw failure;
          if (ended) return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        end();  // a `break` out of the loop unsubscribes
      }
    }
    const iterator = iterate();
    return {
      topic,
      ...(options.queue !== undefined ? { queue: options.queue } : {}),
      get pending() { return buffer.length; },
      unsubscribe: end,
      [Symbol.asyncIterator]: () => iterator,
      [Symbol.asyncDispose]: async () => end(),
    };
  }

  /**
   * Publishes `value` (any Nitro value, msgpack-encoded by the core codec) to every subscriber of
   * `topic`. Resolves to its sequence number; rejects with RESOURCE_EXHAUSTED under backpressure
   * (the core's outbound queue or the transport's send buffer is full: retry later) and
   * INVALID_ARGUMENT for a bad topic, payload or value.
   */
  async publish(topic: string, value: NitroValue): Promise<number> {
    if (this.broker) {
      if (this.closed) throw new NitroError('FAILED_PRECONDITION', 'node is closed');
      return this.broker.publish(topic, value);
    }
    this.checkBackpressure();
    const payload = codec.encode(value);
    return this.run((core, nowMs) => unwrap(core.publish(topic, payload, nowMs)));
  }

  // Two bounded queues can fill: the core's transmit queue (it answers RESOURCE_EXHAUSTED itself)
  // and the transport's send buffer, checked here.
  private checkBackpressure(): void {
    if (this.closed) return;  // the core getter reports FAILED_PRECONDITION
    const queued = this.transport.queuedBytes();
    if (queued > this.sendBufferBytesMax) {
      throw new NitroError('RESOURCE_EXHAUSTED', `transport send buffer holds ${queued} bytes (max ${this.sendBufferBytesMax}); retry later`);
    }
  }

  /** Routes publish/subscribe through `broker` instead of the gossip mesh (createNode's `broker`). */
  attachBroker(broker: BrokerInstance): void {
    this.broker = broker;
  }

  /**
   * Runs `fn` synchronously when close() begins, while the core still runs (replicas hand it their
   * last local updates, which close() then waits to be durable). Returns its off function.
   */
  beforeClose(fn: () => void): () => void {
    this.beforeClosers.add(fn);
    return () => void this.beforeClosers.delete(fn);
  }

  /** Runs `fn` when the node closes, before the transport closes (discovery and the like). */
  closeWith(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /** Resolves once every subscription and publish so far has reached the broker (at once without one). */
  async flush(): Promise<void> {
    await this.broker?.flush();
  }

  /** Reports an error that no caller can catch (e.g. a forged broker message) as an 'error' event. */
  reportError(error: Error): void {
    this.emit('error', error);
  }

  // ---- direct channels ----------------------------------------------------------------------

  /**
   * Sends `bytes` to one peer on `channel` (1..32 bytes; 'nitro.' is reserved) over its secure
   * link, dialing its known address if needed. It arrives there as a 'direct' event. Rejects with
   * UNAVAILABLE when the peer has no known address, RESOURCE_EXHAUSTED under backpressure.
   */
  async sendDirect(peerId: string, channel: string, bytes: Uint8Array): Promise<void> {
    if (!(bytes instanceof Uint8Array)) throw new NitroError('INVALID_ARGUMENT', 'sendDirect expects a Uint8Array');
    this.checkBackpressure();
    this.run((core, nowMs) => unwrap(core.send(peerId, channel, bytes, nowMs)));
  }

  // ---- membership and introspection ---------------------------------------------------------

  /** Peers with an established secure link. */
  peers(): PeerInfo[] {
    return this.core_ ? this.core_.peers() : [];
  }

  /** The members of the queue group (`topic` pattern, `queue`) this node knows, itself included. */
  queueMembers(topic: string, queue: string): string[] {
    return this.core_ ? this.core_.queueMembers(topic, queue) : [];
  }

  /** Peer ids in the gossip active view. */
  neighbors(): string[] {
    return this.core_ ? this.core_.neighbors() : [];
  }

  /** Peer ids in the passive view (known, not linked: candidates to replace a lost neighbor). */
  passiveView(): string[] {
    return this.core_ ? this.core_.passiveView() : [];
  }

  stats(): NodeStats {
    const stats = this.core.stats();
    // Access-control counters, when the node runs access control.
    const auth = authAttached(this.core) ? getModule().authStats(this.core) : undefined;
    return auth ? { ...stats, auth } : stats;
  }

  /**
   * A snapshot of identity, publish sequence numbers and known peers (legacy; with a store, the
   * node keeps its records written ahead and restarts from them on its own).
   */
  saveState(): Uint8Array {
    return this.core.saveState();
  }

  /** A CRDT document replicated over this node (doc-sync.ts); the same Doc for the same name. */
  doc(name: string, options?: DocSyncOptions): Doc {
    return openDoc(this, name, options);
  }

  /** Presence (awareness) for document `doc`: ephemeral per-peer states with timeouts (presence.ts). */
  presence<S extends NitroValue = NitroValue>(doc: string, options?: PresenceOptions): Presence<S> {
    return openPresence<S>(this, doc, options);
  }

  /** Dynamic config merged from `sources` (config.ts); replicated sources use this node's documents. */
  config(options: ConfigOptions): Promise<Config> {
    return Config.open(options, (name) => this.doc(name));
  }

  // ---- events -------------------------------------------------------------------------------

  // on/off/once come from Evented (events.ts); once() rejects with UNAVAILABLE when the node closes.

  /**
   * Resolves true once the node has a gossip neighbor (at once if it has one), false after
   * `timeoutMs` or on close(). createNode awaits this when the node has contacts to join through.
   */
  joined(timeoutMs = 5000): Promise<boolean> {
    if (this.neighbors().length > 0) return Promise.resolve(true);
    if (!this.live) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        offUp();
        this.joinWaiters.delete(finish);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const offUp = this.on('neighbor:up', () => finish(true));
      this.joinWaiters.add(finish);
    });
  }

  // ---- the protocol hook --------------------------------------------------------------------

  /**
   * Runs `fn` against the core — e.g. a binding call that attaches a C++ protocol or feeds it
   * input — then drains the node's output. Returns what `fn` returns (errors thrown by `fn`
   * propagate after the drain).
   */
  run<T>(fn: (core: NodeCore, nowMs: number) => T): T {
    const core = this.core;
    try {
      return fn(core, now());
    } finally {
      this.pump();
    }
  }

  /** The threshold BLS beacon on this node (js/src/host/beacon.ts, by the beacon engineer). */
  beacon(options: BeaconNodeOptions): NodeBeacon {
    return openBeacon(this, options);
  }

  /** A BFT chain on this node (js/src/chain.ts): validators commit txs; submit resolves at commit. */
  consensus(options: ConsensusOptions): Chain {
    return openChain(this, options);
  }

  /** Hears the events a C++ protocol attached on `channel` emits (kProtocol). */
  onProtocol(channel: string, fn: (bytes: Uint8Array) => void): () => void {
    let set = this.protocolListeners.get(channel);
    if (!set) this.protocolListeners.set(channel, (set = new Set()));
    set.add(fn);
    return () => void this.protocolListeners.get(channel)?.delete(fn);
  }

  // ---- transport input ----------------------------------------------------------------------

  /** Where the transport reports to: each call is pushed into the core, then the core is drained. */
  readonly sink: TransportSink = {
    opened: (address, initiator) => {
      if (this.live) this.run((core, nowMs) => core.connect(address, initiator, nowMs));
    },
    // A malformed or unauthenticated frame is counted in stats() and may hang up the link: the core
    // already handled it, so its status is not an error of the host.
    frame: (address, bytes) => {
      if (this.live) this.run((core, nowMs) => void core.handle(address, bytes, nowMs));
    },
    closed: (address) => {
      if (this.live) this.run((core, nowMs) => core.disconnect(address, nowMs));
    },
  };

  // ---- close --------------------------------------------------------------------------------

  /** Resolves once every record drained so far is durable in the store (rejects if a write failed). */
  async flushed(): Promise<void> {
    await this.writes;
    if (this.storeFailed) throw this.storeFailed;
  }

  /** Waits for pending store writes, closes the transport and frees the core. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      for (const fn of [...this.beforeClosers]) {
        try {
          fn();
        } catch (e) {
          reportUnhandled(e as Error);
        }
      }
      this.beforeClosers.clear();
    }
    this.closing ??= this.shutdown();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(): Promise<void> {
    this.clearTimer();
    for (const finish of [...this.joinWaiters]) finish(false);
    this.rejectWaiters('node');
    for (const end of [...this.iterators]) end();
    this.topics.clear();
    this.protocolListeners.clear();
    if (!this.pumping) this.freeCore();
    try {
      await this.writes;  // the records drained so far become durable; held frames are dropped
      this.held.length = 0;
      for (const fn of this.closers.splice(0)) await fn().catch((e: Error) => reportUnhandled(e));
      await this.broker?.close();
      await this.transport.close();
    } finally {
      this.closeEvents('node');
    }
  }

  private freeCore(): void {
    const core = this.core_;
    this.core_ = undefined;
    core?.delete();
  }

  // ---- the drain loop -----------------------------------------------------------------------

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;  // re-entered from a handler: the outer loop drains again
      return;
    }
    this.pumping = true;
    try {
      for (let round = 0; round < kPumpRoundsMax && this.core_ && !this.closed; round++) {
        this.pumpAgain = false;
        this.drainOnce(this.core_);
        if (!this.pumpAgain) break;
      }
    } finally {
      this.pumping = false;
      if (this.closed) this.freeCore();
    }
    if (!this.live) return;
    if (this.pumpAgain) macrotask(() => this.live && this.pump());
    this.arm(this.core_!.nextDeadline());
  }

  private drainOnce(core: NodeCore): void {
    const out = core.drain();
    if (out.store.length > 0) this.writeAhead(out.store);
    const t = out.transmits;
    for (let i = 0; i < t.length; i += 2) this.send(t[i] as string, t[i + 1] as Uint8Array);
    for (const ev of out.events) {
      if (this.closed) return;
      this.dispatch(ev);
    }
  }

  // ---- write-ahead ------------------------------------------------------------------------

  /** Resolves once every write-ahead batch queued so far (routed writes included) is durable. */
  storeWritten(): Promise<void> {
    return this.writes;
  }

  /** @internal Like storeWritten(), or undefined when nothing drained so far waits to become durable. */
  storePending(): Promise<void> | undefined {
    return this.batchesDurable === this.batchesQueued ? undefined : this.writes;
  }

  /**
   * Sends the drained store ops whose key starts with `prefix` (a protocol's channel and '/') to
   * `write` instead of the node's store — e.g. documents kept in their own stores. They are written
   * ahead like the node's own records: the frames drained after them wait for `write` to resolve.
   */
  routeStore(prefix: string, write: (ops: RecordOp[]) => Promise<void>): () => void {
    this.storeRoutes.set(prefix, write);
    return () => void (this.storeRoutes.get(prefix) === write && this.storeRoutes.delete(prefix));
  }

  // Each route's ops (prefix kept) in drain order, then the rest for the node's store.
  private splitRoutes(ops: RecordOp[]): { rest: RecordOp[]; routed: Array<[(ops: RecordOp[]) => Promise<void>, RecordOp[]]> } {
    if (this.storeRoutes.size === 0) return { rest: ops, routed: [] };
    const groups = new Map<(ops: RecordOp[]) => Promise<void>, RecordOp[]>();
    const rest: RecordOp[] = [];
    for (const op of ops) {
      let write: ((ops: RecordOp[]) => Promise<void>) | undefined;
      for (const [prefix, w] of this.storeRoutes) if (op.key.startsWith(prefix)) write = w;
      if (!write) rest.push(op);
      else if (groups.has(write)) groups.get(write)!.push(op);
      else groups.set(write, [op]);
    }
    return { rest, routed: [...groups] };
  }

  private writeAhead(flat: Array<string | Uint8Array | null>): void {
    if (!this.records && this.storeRoutes.size === 0) return;  // no store: nothing survives a restart anyway
    const { rest: ops, routed } = this.splitRoutes(recordOps(flat));
    if (!this.records && routed.length === 0) return;  // no store: nothing survives a restart anyway
    const records = this.records;
    const n = ++this.batchesQueued;
    this.writes = this.writes.then(async () => {
      if (this.storeFailed) return;
      try {
        await Promise.all([
          records && ops.length > 0 ? records.batch(ops) : undefined,
          ...routed.map(([write, group]) => write(group)),
        ]);
      } catch (e) {
        this.storeFailed = new NitroError('UNAVAILABLE', `node store write failed; the node stops sending: ${(e as Error).message}`);
        this.held.length = 0;
        this.emit('error', this.storeFailed);
        return;
      }
      this.batchesDurable = n;
      this.releaseHeld();
    });
  }

  private send(address: string, bytes: Uint8Array): void {
    if (this.storeFailed) return;
    if (this.batchesDurable === this.batchesQueued) this.transport.send(address, bytes);
    else this.held.push({ after: this.batchesQueued, address, bytes });
  }

  private releaseHeld(): void {
    let k = 0;
    while (k < this.held.length && this.held[k]!.after <= this.batchesDurable) k++;
    const ready = this.held.splice(0, k);
    if (this.closed) return;
    for (const f of ready) this.transport.send(f.address, f.bytes);
  }

  private dispatch(ev: CoreEvent): void {
    switch (ev.type) {
      case 'dial': return this.transport.dial(ev.address);
      case 'hangup': return this.transport.hangup(ev.address);
      case 'message': return this.deliver(ev);
      case 'direct': return this.emit('direct', { from: ev.peer, channel: ev.channel, bytes: ev.payload });
      case 'protocol': {
        for (const fn of this.protocolListeners.get(ev.channel) ?? []) this.guard(() => fn(ev.payload));
        return this.emit('protocol', { channel: ev.channel, bytes: ev.payload });
      }
      default: return this.emit(ev.type, { id: ev.peer, address: ev.address });
    }
  }

  private deliver(ev: Extract<CoreEvent, { type: 'message' }>): void {
    const handlers = this.topics.get(`${ev.queue}\u0000${ev.pattern}`);
    if (!handlers || handlers.size === 0) return;
    let msg: NitroValue;
    try {
      msg = codec.decode(ev.payload);
    } catch (e) {
      this.emit('error', e as Error);
      return;
    }
    const meta: MessageMeta = { from: ev.origin, topic: ev.topic, seq: ev.seq, hops: ev.hops, via: ev.peer, pattern: ev.pattern };
    if (ev.queue !== '') meta.queue = ev.queue;
    for (const handler of [...handlers]) this.guard(() => handler(msg, meta));
  }

  protected override emit<E extends NodeEventName>(event: E, payload: NodeEvents[E]): void {
    if (event === 'error' && this.listenerCount('error') === 0) return reportUnhandled(payload as Error);
    super.emit(event, ...([payload] as PayloadEvents<NodeEvents>[E]));
  }

  // A throwing listener must not break the drain loop: its error becomes an 'error' event (and a
  // throwing 'error' listener is reported as unhandled).
  protected override listenerFailed(error: unknown, event: NodeEventName): boolean {
    if (event === 'error') reportUnhandled(error as Error);
    else this.emit('error', error as Error);
    return true;
  }

  // A throwing handler must not break the drain loop (the frames after it still go out).
  private guard(fn: () => void, isErrorHandler = false): void {
    try {
      fn();
    } catch (e) {
      if (isErrorHandler) reportUnhandled(e as Error);
      else this.emit('error', e as Error);
    }
  }

  // ---- the timer ----------------------------------------------------------------------------

  private arm(deadline: number): void {
    if (deadline < 0) return this.clearTimer();
    this.timerArmed = true;
    processTimer.set(this.onTimer, deadline);
  }

  // Fired by the process timer once the deadline has passed.
  private readonly onTimer = (): void => {
    this.timerArmed = false;
    if (this.core_ && !this.closed) this.run((core, nowMs) => core.tick(nowMs));
  };

  private clearTimer(): void {
    if (this.timerArmed) processTimer.clear(this.onTimer);
    this.timerArmed = false;
  }
}

/**
 * One host timer per process, shared by every node in it: each node's next deadline is kept here
 * and a single setTimeout fires for the earliest, kCoalesceMs late, so that deadlines falling
 * within that window cost one wake-up (a tick a little late is within the core's contract; an
 * early one would be a no-op). 100 idle nodes in one process are then tens of wake-ups a second,
 * not hundreds.
 */
class ProcessTimer {
  static readonly kCoalesceMs = 5;
  private readonly due = new Map<() => void, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private firesAt = Infinity;

  set(fn: () => void, deadline: number): void {
    this.due.set(fn, deadline);
    if (deadline + ProcessTimer.kCoalesceMs < this.firesAt) this.schedule(deadline + ProcessTimer.kCoalesceMs);
  }

  clear(fn: () => void): void {
    this.due.delete(fn);
    if (this.due.size === 0) this.schedule(Infinity);
  }

  private schedule(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.firesAt = at;
    if (at === Infinity) return;
    this.timer = setTimeout(this.fire, Math.max(0, Math.ceil(at - performance.now())));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.firesAt = Infinity;
    const nowMs = Math.floor(performance.now());
    const ready: Array<() => void> = [];
    for (const [fn, deadline] of this.due) if (deadline <= nowMs) ready.push(fn);
    for (const fn of ready) this.due.delete(fn);
    for (const fn of ready) fn();  // each re-arms its node through set()
    let next = Infinity;
    for (const deadline of this.due.values()) next = Math.min(next, deadline);
    if (next !== Infinity && next + ProcessTimer.kCoalesceMs < this.firesAt) this.schedule(next + ProcessTimer.kCoalesceMs);
  };
}

const processTimer = new ProcessTimer();

function reportUnhandled(error: Error): void {
  const g = globalThis as { reportError?: (e: unknown) => void };
  if (typeof g.reportError === 'function') g.reportError(error);
  else console.error('nitro: unhandled node error:', error);
}
