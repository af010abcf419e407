// node.sync: distributed locks with fencing tokens and leader election, over a pluggable backend
// (etcd today: createNode({ sync: etcd({ endpoints }) }); the chain backend runs the core's
// nitro::sync::LockTable as a chain module). Every backend keeps the same promises:
//   * acquire / renew / release are linearizable operations of the backend's log, with TTLs on the
//     backend's time (etcd leases, chain block time), never on this process's clock;
//   * a token is the commit revision of the grant: strictly increasing per lock; a leader's term is
//     its token;
//   * waiters are served FIFO by request order; only the holder may renew or release
//     (PERMISSION_DENIED otherwise);
//   * fencedPut(key, value, lock, token) commits only while `token` still holds `lock`.
// A token protects a resource only if the resource checks it: anything outside Nitro must reject a
// write whose token is lower than the highest it has seen, or a paused holder can still write.
import { NitroError } from './errors.js';

export interface LockOptions {
  /** Lease length on the backend's clock (default 10 000 ms; etcd rounds up to whole seconds). */
  ttlMs?: number;
  /** How long to queue behind the holder (default: no limit; 0: only if free now). */
  waitMs?: number;
  /** Aborting leaves the queue and rejects with CANCELLED. */
  signal?: AbortSignal;
  /** Called once if the request has to wait, when its place in the FIFO queue is committed. */
  onQueued?: () => void;
}

export interface Holder { id: string; term: number }

/** What a backend implements; NodeSync turns it into the user API. */
export interface SyncBackend {
  readonly kind: string;
  /** Resolves with the token once held; rejects DEADLINE_EXCEEDED after waitMs, CANCELLED on abort. */
  acquire(name: string, ttlMs: number, waitMs: number, signal?: AbortSignal, onQueued?: () => void): Promise<number>;
  renew(name: string, token: number): Promise<void>;
  release(name: string, token: number): Promise<void>;
  fencedPut(key: string, value: string, name: string, token: number): Promise<void>;
  get(key: string): Promise<string | undefined>;
  holder(name: string): Promise<Holder | undefined>;
  /** Calls `onChange` with the holder whenever it changes; resolves to an unsubscribe function. */
  watch(name: string, onChange: (holder: Holder | undefined) => void): Promise<() => void>;
  close(): Promise<void>;
}

export interface SyncBackendFactory {
  readonly kind: string;
  open(context: { nodeId: string }): Promise<SyncBackend>;
}

export interface LockHandle {
  readonly name: string;
  readonly token: number;
  /** Extends the lease by its TTL; PERMISSION_DENIED once it has lapsed or been taken. */
  renew(): Promise<void>;
  /** Gives the lock to the next waiter; PERMISSION_DENIED if no longer the holder. */
  release(): Promise<void>;
  /** Writes `key` only while this lease still holds the lock (FAILED_PRECONDITION otherwise). */
  put(key: string, value: string): Promise<void>;
}

const kTtlMsDefault = 10_000;
const kLockPrefix = 'lock/';
const kLeaderPrefix = 'leader/';

function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    throw new NitroError('INVALID_ARGUMENT', 'a lock name is a string of 1..256 characters');
  }
}

function checkMs(value: number | undefined, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0) || Number.isNaN(value)) {
    throw new NitroError('INVALID_ARGUMENT', `${what} must be a non-negative number of milliseconds`);
  }
  return value;
}

/** node.sync */
export class NodeSync {
  private backend: Promise<SyncBackend> | undefined;
  private readonly leaders = new Set<Leader>();

  constructor(private readonly nodeId: string, private factory: SyncBackendFactory | undefined) {}

  /** Chooses the backend (e.g. chainSync(chain) once the node runs a chain); before first use. */
  use(factory: SyncBackendFactory): void {
    if (this.backend) throw new NitroError('FAILED_PRECONDITION', 'node.sync already opened its backend');
    this.factory = factory;
  }

  /** The backend, opened on first use. */
  open(): Promise<SyncBackend> {
    if (!this.factory) {
      return Promise.reject(new NitroError('UNAVAILABLE',
        'no sync backend: createNode({ sync: etcd({ endpoints }) }) or node.sync.use(chainSync(chain))'));
    }
    this.backend ??= this.factory.open({ nodeId: this.nodeId });
    return this.backend;
  }

  async lock(name: string, options: LockOptions = {}): Promise<LockHandle> {
    checkName(name);
    const ttlMs = checkMs(options.ttlMs, 'ttlMs', kTtlMsDefault);
    if (ttlMs === 0) throw new NitroError('INVALID_ARGUMENT', 'ttlMs must be positive');
    const waitMs = checkMs(options.waitMs, 'waitMs', Infinity);
    if (options.signal?.aborted) throw new NitroError('CANCELLED', 'lock aborted');
    const backend = await this.open();
    const key = kLockPrefix + name;
    const token = await backend.acquire(key, ttlMs, waitMs, options.signal, options.onQueued);
    return {
      name, token,
      renew: () => backend.renew(key, token),
      release: () => backend.release(key, token),
      put: (k, v) => backend.fencedPut(k, v, key, token),
    };
  }

  /** Releases `name` as held with `token` by this node; PERMISSION_DENIED for anyone else. */
  async release(name: string, token: number): Promise<void> {
    checkName(name);
    return (await this.open()).release(kLockPrefix + name, token);
  }

  /** Writes `key` only if `token` still holds lock `name` (FAILED_PRECONDITION otherwise). */
  async fencedPut(key: string, value: string, name: string, token: number): Promise<void> {
    checkName(name);
    return (await this.open()).fencedPut(key, value, kLockPrefix + name, token);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.open()).get(key);
  }

  /** The current holder of lock `name` and its token. */
  async holder(name: string): Promise<Holder | undefined> {
    checkName(name);
    return (await this.open()).holder(kLockPrefix + name);
  }

  leader(name: string, options: { ttlMs?: number } = {}): Leader {
    checkName(name);
    const ttlMs = checkMs(options.ttlMs, 'ttlMs', kTtlMsDefault);
    const leader = new Leader(this, kLeaderPrefix + name, this.nodeId, ttlMs, () => this.leaders.delete(leader));
    this.leaders.add(leader);
    return leader;
  }

  async close(): Promise<void> {
    for (const leader of [...this.leaders]) await leader.close();
    const backend = this.backend;
    this.backend = undefined;
    if (backend) await (await backend.catch(() => undefined))?.close();
  }
}

export interface LeaderEvents {
  elected: { term: number };
  resigned: { term: number; reason: 'resigned' | 'lost' | 'closed' };
  changed: { leader: Holder | undefined };
}
type LeaderListener<E extends keyof LeaderEvents> = (ev: LeaderEvents[E]) => void;

/**
 * node.sync.leader(name): campaign() queues for leadership and resolves once elected; the lease is
 * then renewed every ttlMs/3 until resign(), close(), or a renew is refused (the lease lapsed:
 * 'resigned' with reason 'lost'). `leader` is the last holder observed; 'changed' reports each new
 * one. The term is the grant's token: a resource that checks it never accepts an older term.
 */
export class Leader {
  private readonly listeners = new Map<keyof LeaderEvents, Set<(ev: never) => void>>();
  private term_ = 0;
  // The renew schedule stays a host timer, not a core one: the lease lives in the backend (etcd's
  // lease clock, or the chain's sync module, which decides expiry on the chain's own clock in the
  // core), and renewing is this client's I/O, like a socket's reconnect. Safety does not depend on
  // it: a late renew is refused by the backend, and a holder cut off for a whole TTL steps down.
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private unwatch: (() => void) | undefined;
  private watching: Promise<void> | undefined;
  private current: Holder | undefined;
  private closed = false;
  private confirmedAt = 0;  // local send time of the last renew the backend accepted

  constructor(private readonly sync: NodeSync, private readonly key: string, private readonly nodeId: string,
              private readonly ttlMs: number, private readonly onClose: () => void) {}

  get leader(): Holder | undefined { return this.current; }
  /** This node's term while it leads, else 0. */
  get term(): number { return this.term_; }
  get isLeader(): boolean { return this.term_ !== 0; }

  on<E extends keyof LeaderEvents>(event: E, fn: LeaderListener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, set = new Set());
    set.add(fn as (ev: never) => void);
    this.observe().catch(() => undefined);  // campaign() reports a backend that cannot be opened
    return () => set!.delete(fn as (ev: never) => void);
  }

  private emit<E extends keyof LeaderEvents>(event: E, ev: LeaderEvents[E]): void {
    for (const fn of this.listeners.get(event) ?? []) (fn as LeaderListener<E>)(ev);
  }

  /** Starts watching the holder (done by campaign() and on()); resolves once the first is known. */
  observe(): Promise<void> {
    this.watching ??= (async () => {
      const backend = await this.sync.open();
      const off = await backend.watch(this.key, (holder) => this.changed(holder));
      if (this.closed) off(); else this.unwatch = off;
    })();
    return this.watching;
  }

  private changed(holder: Holder | undefined): void {
    if (holder?.term === this.current?.term && holder?.id === this.current?.id) return;
    this.current = holder;
    this.emit('changed', { leader: holder });
  }

  async campaign(options: { signal?: AbortSignal } = {}): Promise<{ term: number }> {
    if (this.closed) throw new NitroError('FAILED_PRECONDITION', 'leader handle is closed');
    if (this.term_ !== 0) return { term: this.term_ };
    await this.observe();
    const backend = await this.sync.open();
    const term = await backend.acquire(this.key, this.ttlMs, Infinity, options.signal);
    if (this.closed) {
      await backend.release(this.key, term).catch(() => undefined);
      throw new NitroError('CANCELLED', 'leader handle closed during the campaign');
    }
    this.term_ = term;
    this.confirmedAt = Date.now();
    this.renewTimer = setInterval(() => void this.renew(backend, term), Math.max(1, Math.floor(this.ttlMs / 3)));
    void this.renew(backend, term);
    this.changed({ id: this.nodeId, term });
    this.emit('elected', { term });
    return { term };
  }

  private async renew(backend: SyncBackend, term: number): Promise<void> {
    // Cut off from the backend for a whole TTL since the last renew that came back: the lease may
    // have lapsed there already, so stop acting as leader now rather than when the backend says so.
    if (this.term_ === term && Date.now() - this.confirmedAt >= this.ttlMs) {
      this.stepDown('lost');
      return;
    }
    const sentAt = Date.now();
    try {
      await backend.renew(this.key, term);
      this.confirmedAt = Math.max(this.confirmedAt, sentAt);
    } catch (e) {
      // A refused renew means the lease lapsed; a transient error is retried at the next tick.
      if (e instanceof NitroError && e.code === 'PERMISSION_DENIED' && this.term_ === term) this.stepDown('lost');
    }
  }

  private stepDown(reason: 'resigned' | 'lost' | 'closed'): number {
    const term = this.term_;
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    this.term_ = 0;
    if (term !== 0) this.emit('resigned', { term, reason });
    return term;
  }

  async resign(): Promise<void> {
    const term = this.stepDown('resigned');
    if (term === 0) return;
    const backend = await this.sync.open();
    await backend.release(this.key, term).catch((e) => {
      if (!(e instanceof NitroError && e.code === 'PERMISSION_DENIED')) throw e;  // already lapsed
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const term = this.stepDown('closed');
    this.unwatch?.();
    this.onClose();
    if (term !== 0) {
      const backend = await this.sync.open().catch(() => undefined);
      await backend?.release(this.key, term).catch(() => undefined);
    }
  }
}

/** Adds node.sync to a node; node.close() closes it first. */
export function attachSync<N extends { id: string; close(): Promise<void> }>(node: N, factory: SyncBackendFactory | undefined): N & { sync: NodeSync } {
  const sync = new NodeSync(node.id, factory);
  const close = node.close.bind(node);
  Object.assign(node, {
    sync,
    close: async () => {
      await sync.close().catch(() => undefined);
      return close();
    },
  });
  return node as N & { sync: NodeSync };
}
