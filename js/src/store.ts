// Storage. Two interfaces:
// - Store: the key/value interface every engine implements (memoryStore, fileStore, indexedDbStore,
//   postgresStore). The node's durable-state seam maps onto it 1:1: drained StoreOps become one
//   `batch`, awaited before the transmits drained after them are sent; a restart `list('')`s them.
// - DocStore: a document's update log (load/append/compact), kept for `persist()` and node records.
//   Every store here offers it too, as an adapter over its own Store methods (docLog below).
// memoryStore() is here (any platform); fileStore(dir) is in store-file.ts (Node only).
import type { Doc } from './doc.js';
import { NitroError } from './errors.js';

export interface StoreListOptions {
  /** At most this many entries (default: all). */
  limit?: number;
  /** From a previous page's `cursor`: continue after it. */
  cursor?: string;
}

export interface StoreListPage {
  /** Entries whose key starts with the prefix, in ascending key order. */
  entries: Array<[string, Uint8Array]>;
  /** Present when more entries may follow: pass it to the next list() call. */
  cursor?: string;
}

export interface StoreOp {
  key: string;
  /** Absent: delete the key. */
  value?: Uint8Array;
}

export interface Store {
  read(key: string): Promise<Uint8Array | undefined>;
  /** Durable when the promise resolves. With ttlMs, the entry disappears that long after the write. */
  write(key: string, value: Uint8Array, options?: { ttlMs?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string, options?: StoreListOptions): Promise<StoreListPage>;
  /** Applies every op, in order, atomically (all or none after a crash); durable on resolve. */
  batch(ops: StoreOp[]): Promise<void>;
  close(): Promise<void>;
}

export interface DocStore {
  /** Every stored update of the document, oldest first (a snapshot counts as one). */
  load(name: string): Promise<Uint8Array[]>;
  /** Stores one update; durable when the promise resolves. */
  append(name: string, update: Uint8Array): Promise<void>;
  /** Replaces everything stored for the document by one snapshot (its encoded state). */
  compact(name: string, snapshot: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** What memoryStore(), fileStore(), indexedDbStore() and postgresStore() return. */
export type KvStore = Store & DocStore;

export interface StoreClockOptions {
  /** Wall-clock milliseconds for TTLs (default Date.now); tests inject a fake clock. */
  now?: () => number;
}

// ---- argument checks shared by every engine ----

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new NitroError('INVALID_ARGUMENT', 'store key must be a string');
}

export function checkValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new NitroError('INVALID_ARGUMENT', 'store value must be a Uint8Array');
}

/** The absolute expiry (ms) for a write, or undefined for none. */
export function expiryOf(options: { ttlMs?: number } | undefined, now: () => number): number | undefined {
  const ttl = options?.ttlMs;
  if (ttl === undefined) return undefined;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw new NitroError('INVALID_ARGUMENT', `ttlMs must be a positive number, got ${String(ttl)}`);
  }
  return now() + ttl;
}

export function checkOps(ops: StoreOp[]): void {
  if (!Array.isArray(ops)) throw new NitroError('INVALID_ARGUMENT', 'batch() takes an array of ops');
  for (const op of ops) {
    checkKey(op?.key);
    if (op.value !== undefined) checkValue(op.value);
  }
}

export function checkLimit(options: StoreListOptions | undefined): number {
  const limit = options?.limit;
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 1) throw new NitroError('INVALID_ARGUMENT', `list limit must be a positive integer, got ${String(limit)}`);
  return limit;
}

export function checkOpen(closed: boolean, what: string): void {
  if (closed) throw new NitroError('FAILED_PRECONDITION', `${what} is closed`);
}

/**
 * One page from keys sorted ascending: those starting with `prefix`, after `cursor`, at most
 * `limit`. The cursor of a page is its last key (opaque to callers).
 */
export function pageOfKeys(sorted: readonly string[], prefix: string, options: StoreListOptions | undefined): { keys: string[]; more: boolean } {
  const limit = checkLimit(options);
  const after = options?.cursor;
  let at = lowerBound(sorted, after !== undefined && after >= prefix ? after : prefix);
  if (after !== undefined && sorted[at] === after) at++;
  const keys: string[] = [];
  for (; at < sorted.length && sorted[at]!.startsWith(prefix); at++) {
    if (keys.length === limit) return { keys, more: true };
    keys.push(sorted[at]!);
  }
  return { keys, more: false };
}

export function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---- DocStore over a Store ----

/** Keys of a document's log: `doc/<name, URI-escaped so no name prefixes another>/<seq, 12 hex>`. */
const docPrefix = (name: string) => `nitro.doc/${encodeURIComponent(name)}/`;
export const seqKey = (name: string, seq: number) => docPrefix(name) + seq.toString(16).padStart(12, '0');

async function listAll(store: Store, prefix: string): Promise<Array<[string, Uint8Array]>> {
  const all: Array<[string, Uint8Array]> = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, { limit: 1000, cursor });
    all.push(...page.entries);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return all;
}

/**
 * A document log kept in `store`: one entry per update under the document's prefix. Calls for
 * one document run one after another, so concurrent appends get distinct, ordered sequence
 * numbers (read-then-write interleavings cannot give two updates the same slot).
 */
export function docLog(store: Store): DocStore {
  const next = new Map<string, number>();
  const chains = new Map<string, Promise<unknown>>();
  const serial = <T>(name: string, task: () => Promise<T>): Promise<T> => {
    const run = (chains.get(name) ?? Promise.resolve()).then(task, task);
    chains.set(name, run.catch(() => undefined));
    return run;
  };
  const nextSeq = async (name: string) => {
    let seq = next.get(name);
    if (seq === undefined) {
      const keys = (await listAll(store, docPrefix(name))).map(([k]) => k);
      seq = keys.length ? parseInt(keys[keys.length - 1]!.slice(docPrefix(name).length), 16) + 1 : 0;
    }
    return seq;
  };
  return {
    load: (name) => serial(name, async () => (await listAll(store, docPrefix(name))).map(([, v]) => v)),
    append: (name, update) => serial(name, async () => {
      const seq = await nextSeq(name);
      await store.write(seqKey(name, seq), update);
      next.set(name, seq + 1);
    }),
    compact: (name, snapshot) => serial(name, async () => {
      // The snapshot takes the next slot and every older entry goes, in one atomic batch.
      const seq = await nextSeq(name);
      const old = await listAll(store, docPrefix(name));
      await store.batch([...old.map(([key]) => ({ key })), { key: seqKey(name, seq), value: snapshot }]);
      next.set(name, seq + 1);
    }),
    close: () => store.close(),
  };
}

/** Adds the DocStore methods (over its own key/value methods) to a Store. */
export function withDocLog(store: Store): KvStore {
  const log = docLog(store);
  return Object.assign(store, { load: log.load, append: log.append, compact: log.compact });
}

/** A DocStore for `store`: itself when it has the DocStore methods, else docLog over it. */
export function asDocStore(store: Store | DocStore): DocStore {
  return 'load' in store && typeof store.load === 'function' ? store as DocStore : docLog(store as Store);
}

// ---- memoryStore ----

interface MemoryEntry {
  value: Uint8Array;
  expiresAt?: number;
}

/** In-memory store (the default): survives nothing but the objects using it being recreated in-process. */
export function memoryStore(options: StoreClockOptions = {}): KvStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, MemoryEntry>();
  let sorted: string[] | undefined; // sorted keys, rebuilt after a change
  const live = (key: string) => {
    const e = entries.get(key);
    if (e?.expiresAt !== undefined && e.expiresAt <= now()) {
      entries.delete(key);
      sorted = undefined;
      return undefined;
    }
    return e;
  };
  const put = (key: string, value: Uint8Array | undefined, expiresAt?: number) => {
    if (value === undefined) entries.delete(key);
    else entries.set(key, { value: value.slice(), expiresAt });
    sorted = undefined;
  };
  const store: Store = {
    async read(key) {
      checkKey(key);
      return live(key)?.value.slice();
    },
    async write(key, value, opts) {
      checkKey(key);
      checkValue(value);
      put(key, value, expiryOf(opts, now));
    },
    async delete(key) {
      checkKey(key);
      put(key, undefined);
    },
    async list(prefix, opts) {
      checkKey(prefix);
      for (const key of [...entries.keys()]) live(key);
      sorted ??= [...entries.keys()].sort();
      const { keys, more } = pageOfKeys(sorted, prefix, opts);
      const page: StoreListPage = { entries: keys.map((k) => [k, entries.get(k)!.value.slice()]) };
      if (more) page.cursor = keys[keys.length - 1];
      return page;
    },
    async batch(ops) {
      checkOps(ops);
      for (const op of ops) put(op.key, op.value);
    },
    // Nothing to release; the entries stay, so a store can be handed to a restarted node in-process.
    async close() {},
  };
  return withDocLog(store);
}

export interface Persistence {
  /** Resolves when every update emitted so far is durable in the store. */
  flush(): Promise<void>;
  /** Flushes, then replaces the stored log by one snapshot of the document. */
  compact(): Promise<void>;
  /** Stops persisting (after a flush). */
  close(): Promise<void>;
}

const fromStore = Symbol('nitro.store');

/**
 * Loads the document's stored updates into `doc`, then appends each update it emits (local edits
 * and accepted remote updates) to the store. Appends are serialized; `flush()` awaits them.
 * With `compactEvery`, the log is compacted after that many appended updates.
 */
export async function persist(doc: Doc, store: DocStore, name: string, options: { compactEvery?: number } = {}): Promise<Persistence> {
  for (const update of await store.load(name)) doc.applyUpdate(update, fromStore);
  let queue: Promise<void> = Promise.resolve();
  let failure: unknown;
  let since = 0;
  const enqueue = (task: () => Promise<void>) => {
    queue = queue.then(task).catch((e) => {
      failure ??= e;
    });
    return queue;
  };
  const compact = () => enqueue(async () => {
    await store.compact(name, doc.encodeState());
    since = 0;
  });
  const off = doc.on('update', (update, origin) => {
    if (origin === fromStore) return;
    enqueue(() => store.append(name, update));
    if (options.compactEvery && ++since >= options.compactEvery) compact();
  });
  const flush = async () => {
    await queue;
    if (failure) throw failure;
  };
  return {
    flush,
    compact: async () => {
      await compact();
      await flush();
    },
    close: async () => {
      off();
      await flush();
    },
  };
}
