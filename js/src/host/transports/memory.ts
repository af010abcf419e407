// In-process transport: nodes created in one process (one MemoryNetwork) find each other. The
// network is a registry of listening names; a new node bootstraps from a few existing ones. Frames
// are delivered asynchronously (a later macrotask, or after the injected delay), in order per
// connection unless a fault injector reorders them with varying delays.
import { NitroError } from '../../errors.js';
import { macrotask, type Transport, type TransportInstance, type TransportSink } from '../transport.js';

/** One frame in flight, as seen by a fault injector. */
export interface MemoryFrame {
  from: string;  // sender's listen address
  to: string;    // receiver's listen address
  bytes: Uint8Array;
}

/** Fault injection for tests: drop and delay frames (numbers apply to every frame). */
export interface MemoryFaults {
  /** Probability in [0, 1] of losing a frame, or a predicate deciding it per frame. */
  drop?: number | ((frame: MemoryFrame) => boolean);
  /** Delay in ms before delivery, or a function giving it per frame. */
  delayMs?: number | ((frame: MemoryFrame) => number);
}

export interface MemoryOptions {
  /** The network to join; default: the process-wide one. */
  network?: MemoryNetwork;
  /** Fault injection on frames this node sends. */
  faults?: MemoryFaults;
  /** How many existing nodes a new node bootstraps from (default 3). */
  bootstrapCount?: number;
}

const kPrefix = 'mem:';
const kBootstrapDefault = 3;

interface HalfConnection {
  endpoint: Endpoint;
  address: string;  // how `endpoint` names this connection
  peer?: HalfConnection;
  open: boolean;
}

/** A registry of in-process nodes and the queue that delivers their frames. */
export class MemoryNetwork {
  readonly endpoints = new Map<string, Endpoint>();
  private queue: Array<() => void> = [];
  private scheduled = false;
  private nextConnection = 1;

  /** Listen addresses of the live nodes, oldest first. */
  addresses(): string[] {
    return [...this.endpoints.keys()];
  }

  connectionId(): number {
    return this.nextConnection++;
  }

  /** Runs `fn` after `delayMs`, or in the next delivery batch (FIFO) when 0. */
  later(fn: () => void, delayMs = 0): void {
    if (delayMs > 0) {
      setTimeout(fn, delayMs);
      return;
    }
    this.queue.push(fn);
    if (this.scheduled) return;
    this.scheduled = true;
    macrotask(() => this.flush());
  }

  private flush(): void {
    // Only what was queued before this batch runs now: a chatty exchange cannot starve timers.
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    for (const fn of batch) fn();
  }
}

const defaultNetwork = new MemoryNetwork();

/** The process-wide network used by memory() without options.network. */
export function memoryNetwork(): MemoryNetwork {
  return defaultNetwork;
}

class Endpoint implements TransportInstance {
  readonly connections = new Map<string, HalfConnection>();
  closed = false;
  private inFlightBytes = 0;

  constructor(
    readonly network: MemoryNetwork,
    readonly sink: TransportSink,
    readonly listenAddress: string,
    readonly bootstrap: string[],
    private readonly faults: MemoryFaults | undefined,
  ) {}

  dial(address: string): void {
    if (this.closed) return;
    this.hangup(address);
    const remote = this.network.endpoints.get(address);
    if (!remote || remote.closed || remote === this) {
      this.network.later(() => this.closedByRemote(address, undefined));
      return;
    }
    const mine: HalfConnection = { endpoint: this, address, open: false };
    const theirs: HalfConnection = {
      endpoint: remote, address: `${this.listenAddress}~${this.network.connectionId()}`, open: false,
    };
    mine.peer = theirs;
    theirs.peer = mine;
    this.connections.set(address, mine);
    remote.connections.set(theirs.address, theirs);
    // The responder learns of the connection first, so the initiator's first frame finds it open.
    this.network.later(() => {
      if (remote.connections.get(theirs.address) !== theirs || remote.closed) return;
      theirs.open = true;
      remote.sink.opened(theirs.address, false);
    });
    this.network.later(() => {
      if (this.connections.get(address) !== mine || this.closed) return;
      mine.open = true;
      this.sink.opened(address, true);
    });
  }

  send(address: string, bytes: Uint8Array): void {
    const conn = this.connections.get(address);
    const peer = conn?.peer;
    if (!conn || !conn.open || !peer) return;
    const frame: MemoryFrame = { from: this.listenAddress, to: peer.endpoint.listenAddress, bytes };
    if (this.dropped(frame)) return;
    const delayMs = this.delay(frame);
    this.inFlightBytes += bytes.length;
    this.network.later(() => {
      this.inFlightBytes -= bytes.length;
      if (!peer.open || peer.endpoint.connections.get(peer.address) !== peer) return;
      peer.endpoint.sink.frame(peer.address, bytes);
    }, delayMs);
  }

  queuedBytes(): number {
    return this.inFlightBytes;
  }

  hangup(address: string): void {
    const conn = this.connections.get(address);
    if (!conn) return;
    this.connections.delete(address);
    conn.open = false;
    const peer = conn.peer;
    if (!peer) return;
    // The other end hears of the close after frames already in flight (FIFO batch).
    this.network.later(() => peer.endpoint.closedByRemote(peer.address, peer));
  }

  closedByRemote(address: string, conn: HalfConnection | undefined): void {
    if (this.closed) return;
    if (conn && this.connections.get(address) !== conn) return;
    if (!conn && this.connections.has(address)) return;  // a newer dial to the same address
    this.connections.delete(address);
    if (conn) conn.open = false;
    this.sink.closed(address);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const address of [...this.connections.keys()]) this.hangup(address);
    this.closed = true;
    if (this.network.endpoints.get(this.listenAddress) === this) this.network.endpoints.delete(this.listenAddress);
  }

  private dropped(frame: MemoryFrame): boolean {
    const drop = this.faults?.drop;
    if (drop === undefined) return false;
    return typeof drop === 'function' ? drop(frame) : Math.random() < drop;
  }

  private delay(frame: MemoryFrame): number {
    const delayMs = this.faults?.delayMs;
    if (delayMs === undefined) return 0;
    return Math.max(0, typeof delayMs === 'function' ? delayMs(frame) : delayMs);
  }
}

function pickBootstrap(network: MemoryNetwork, count: number): string[] {
  const all = network.addresses();
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, count);
}

/**
 * The in-memory transport (the default). Each node listens as `mem:<name>`; names are unique per
 * network (ALREADY_EXISTS otherwise). A new node bootstraps from up to `bootstrapCount` random
 * live nodes of the same network.
 */
export function memory(options: MemoryOptions = {}): Transport {
  const network = options.network ?? defaultNetwork;
  return {
    kind: 'memory',
    async open(sink, context) {
      const listenAddress = kPrefix + context.name;
      const existing = network.endpoints.get(listenAddress);
      if (existing && !existing.closed) {
        throw new NitroError('ALREADY_EXISTS', `a node named '${context.name}' already runs on this memory network`);
      }
      const bootstrap = pickBootstrap(network, options.bootstrapCount ?? kBootstrapDefault);
      const endpoint = new Endpoint(network, sink, listenAddress, bootstrap, options.faults);
      network.endpoints.set(listenAddress, endpoint);
      return endpoint;
    },
  };
}
