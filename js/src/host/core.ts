// Types of the embind `NodeCore` (bindings/node.cpp): the sans-IO nitro::Node as seen from JS.
// Glue types only; the host (node.ts) drives it per the transport contract in core/include/nitro/node.h.

import type { ErrorCode } from '../errors.js';

/** How a published message is disseminated (the baselines exist for benchmarks and tests). */
export type BroadcastMode = 'plumtree' | 'flood' | 'mesh';

/** NodeTimers of nitro/node.h, in milliseconds; every field optional (core defaults apply). */
export interface NodeTimers {
  probeIntervalMs: number; probeTimeoutMs: number; suspicionTimeoutMs: number; shuffleIntervalMs: number;
  repairIntervalMs: number; reconnectIntervalMs: number; neighborTimeoutMs: number; handshakeTimeoutMs: number; linkRekeyMs: number;
  linkIdleMs: number; ihaveTimeoutMs: number; graftRetryMs: number; lazyFlushMs: number; reorderWaitMs: number;
  meshHeartbeatMs: number; messageTtlMs: number;
}

/** NodeLimits of nitro/node.h; every field optional (core defaults apply). */
export interface NodeLimits {
  frameBytesMax: number; payloadBytesMax: number; topicBytesMax: number; transmitQueueMax: number;
  transmitQueueHighWater: number; eventQueueMax: number; linksMax: number; pendingFramesPerLinkMax: number;
  messageCacheMax: number; seenStreamsMax: number; holdBackPerStreamMax: number; lazyQueuePerPeerMax: number;
  topicsMax: number;
}

/** Tuning shared by createNode options and the core config. */
export interface NodeTuning {
  mode?: BroadcastMode;
  activeViewMax?: number;
  passiveViewMax?: number;
  meshDegree?: number;
  meshGossipPeers?: number;
  timers?: Partial<NodeTimers>;
  limits?: Partial<NodeLimits>;
}

/** What `nodeCreate` takes. With `state` (saveState() bytes) the node is restored from it. */
export interface CoreConfig extends NodeTuning {
  /** Optional only with non-empty `records` (the identity is then the stored one). */
  identitySeed?: Uint8Array;
  /** Every record the node's store holds ([key, value], keys as the core wrote them): restart. */
  records?: Array<[string, Uint8Array]>;
  entropy: Uint8Array;
  listenAddress: string;
  bootstrap: string[];
  state?: Uint8Array;
}

export type CoreEvent =
  | { type: 'message'; peer: string; topic: string; origin: string; seq: number; hops: number; payload: Uint8Array; pattern: string; queue: string }
  | { type: 'peer:up' | 'peer:down' | 'neighbor:up' | 'neighbor:down'; peer: string; address: string }
  | { type: 'direct'; peer: string; channel: string; payload: Uint8Array }
  | { type: 'dial' | 'hangup'; address: string }
  | { type: 'protocol'; channel: string; payload: Uint8Array };

export interface CoreDrain {
  /**
   * Alternating key, value (null: delete) — durable-state writes. Write them (one atomic batch)
   * and await durability before sending the transmits of this drain and every later one.
   */
  store: Array<string | Uint8Array | null>;
  /** Alternating address, bytes — one frame per transport message. */
  transmits: Array<string | Uint8Array>;
  events: CoreEvent[];
  /** The next tick time in ms, or -1 for none. */
  deadline: number;
}

export interface PeerInfo {
  /** The peer's id (base32 Ed25519 public key). */
  id: string;
  /** The transport address of the link. */
  address: string;
  /** What the peer advertised for others to dial ('' if none). */
  listenAddress: string;
  /** In our active view (a gossip neighbor). */
  neighbor: boolean;
}

export interface NodeStats {
  framesIn: number; framesOut: number; bytesIn: number; bytesOut: number;
  decodeErrors: number; authFailures: number; droppedBackpressure: number;
  published: number; delivered: number; payloadsReceived: number; duplicatePayloads: number;
  ihaveSent: number; graftsSent: number; prunesSent: number; orderingGapsSkipped: number;
  neighborsUp: number; neighborsDown: number; suspicions: number; deaths: number;
  handshakesOk: number; handshakesFailed: number; rekeys: number;
  /** Undecodable or forged frames from authenticated peers; after 8 the peer is refused for a while. */
  strikes: number; peersRefused: number;
  /** Peer refs refused: beyond one sender's share of the passive view, or beyond one message's. */
  membershipRefused: number;
  /** Access-control counters (js/src/auth.ts AuthStats) when createNode attached auth. */
  auth?: import('../auth.js').AuthStats;
}

/** A core error value (bytes.h error_to_js); `unwrap` from errors.ts turns it into a NitroError. */
export interface CoreError { __nitroError: true; code: ErrorCode; message: string }

/** The embind class. Times are milliseconds (performance.now(), truncated by the binding). */
export interface NodeCore {
  id(): string;
  listenAddress(): string;
  start(nowMs: number): void;
  join(contact: string, nowMs: number): void;
  connect(address: string, initiator: boolean, nowMs: number): void;
  disconnect(address: string, nowMs: number): void;
  handle(address: string, bytes: Uint8Array, nowMs: number): CoreError | undefined;
  tick(nowMs: number): void;
  pollTransmit(): { address: string; bytes: Uint8Array } | undefined;
  pollEvent(): CoreEvent | undefined;
  nextDeadline(): number;
  drain(): CoreDrain;
  /** The queues separately (drain() takes both in one crossing). */
  pollTransmits(): Array<{ address: string; bytes: Uint8Array }>;
  pollEvents(): CoreEvent[];
  /** A NATS-style pattern, and a queue group ('' for none). */
  subscribe(pattern: string, queue: string): CoreError | undefined;
  unsubscribe(pattern: string, queue: string): CoreError | undefined;
  queueMembers(pattern: string, queue: string): string[];
  publish(topic: string, payload: Uint8Array, nowMs: number): CoreError | number;
  send(peer: string, channel: string, bytes: Uint8Array, nowMs: number): CoreError | undefined;
  peers(): PeerInfo[];
  neighbors(): string[];
  passiveView(): string[];
  stats(): NodeStats;
  saveState(): Uint8Array;
  /** Frees the wasm-side node (embind). */
  delete(): void;
}
