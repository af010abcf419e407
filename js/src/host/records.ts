// A node's durable records (what the core drains with poll_store: "node/identity", "node/seq/<t>",
// "<channel>/..."), kept in the store given to createNode. Two kinds of store fit:
//   * a key/value Store (read/write/delete/list/batch; memoryStore, fileStore, indexedDbStore and
//     postgresStore as the backends define them): each record is one key under
//     `nitro.node/<name>/`, each drained batch one atomic store.batch;
//   * a document store (load/append/compact): the records are one log under the document name
//     `nitro.node/<name>/records`, one appended entry per batch (an append is atomic and durable,
//     a torn tail is dropped on load), compacted into one snapshot entry every so many batches.
// Either way `batch` resolves only once the records are durable: the host sends the transmits
// drained after a batch only then (write-ahead, see core/include/nitro/node.h).
import { codec } from '../codec.js';
import { NitroError } from '../errors.js';
import type { DocStore } from '../store.js';

/** The shared key/value store contract (the backends' js/src/store*.ts implement it). */
export interface KeyValueStore {
  read(key: string): Promise<Uint8Array | undefined>;
  write(key: string, value: Uint8Array, options?: { ttlMs?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string, options?: { limit?: number; cursor?: string }):
    Promise<{ entries: Array<[string, Uint8Array]>; cursor?: string }>;
  batch(ops: Array<{ key: string; value?: Uint8Array }>): Promise<void>;
  close(): Promise<void>;
}

export interface RecordOp { key: string; value?: Uint8Array }

export interface NodeRecordStore {
  /** Every record of this node, keys as the core wrote them. */
  list(): Promise<Array<[string, Uint8Array]>>;
  /** Applies `ops` in order, atomically; resolves when durable. */
  batch(ops: RecordOp[]): Promise<void>;
}

export function isKeyValueStore(store: unknown): store is KeyValueStore {
  const s = store as Partial<KeyValueStore> | undefined;
  return typeof s?.batch === 'function' && typeof s?.list === 'function';
}

/** The records of the node called `name` in `store` (several nodes may share one store). */
export function nodeRecords(store: KeyValueStore | DocStore, name: string): NodeRecordStore {
  return isKeyValueStore(store) ? keyValueRecords(store, `nitro.node/${name}/`) : logRecords(store, `nitro.node/${name}/records`);
}

function keyValueRecords(store: KeyValueStore, prefix: string): NodeRecordStore {
  return {
    async list() {
      const out: Array<[string, Uint8Array]> = [];
      let cursor: string | undefined;
      do {
        const page = await store.list(prefix, { cursor });
        for (const [key, value] of page.entries) out.push([key.slice(prefix.length), value]);
        cursor = page.cursor;
      } while (cursor !== undefined);
      return out;
    },
    batch: (ops) => store.batch(ops.map((op) => ({ key: prefix + op.key, value: op.value }))),
  };
}

// Log entries: msgpack [[key, value or nil]...]; a snapshot is the same shape (every live record).
const kCompactEvery = 256;

function logRecords(store: DocStore, name: string): NodeRecordStore {
  let records: Map<string, Uint8Array> | undefined;
  let appended = 0;
  const load = async (): Promise<Map<string, Uint8Array>> => {
    if (records) return records;
    const map = new Map<string, Uint8Array>();
    for (const entry of await store.load(name)) applyEntry(map, entry);
    records = map;
    return map;
  };
  return {
    async list() {
      return [...(await load())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    },
    async batch(ops) {
      const map = await load();
      for (const op of ops) {
        if (op.value) map.set(op.key, op.value);
        else map.delete(op.key);
      }
      if (++appended % kCompactEvery === 0) {
        await store.compact(name, encodeEntry([...map].map(([key, value]) => ({ key, value }))));
      } else {
        await store.append(name, encodeEntry(ops));
      }
    },
  };
}

function encodeEntry(ops: RecordOp[]): Uint8Array {
  return codec.encode(ops.map((op) => [op.key, op.value ?? null]));
}

function applyEntry(map: Map<string, Uint8Array>, entry: Uint8Array): void {
  const ops = codec.decode(entry);
  if (!Array.isArray(ops)) throw new NitroError('DECODE_ERROR', 'node records: a log entry is not an array');
  for (const op of ops) {
    if (!Array.isArray(op) || op.length !== 2 || typeof op[0] !== 'string') {
      throw new NitroError('DECODE_ERROR', 'node records: bad log entry');
    }
    const [key, value] = op;
    if (value instanceof Uint8Array) map.set(key, value);
    else if (value === null) map.delete(key);
    else throw new NitroError('DECODE_ERROR', 'node records: bad log entry');
  }
}

/** Turns a drain's flat [key, value or null, ...] list into ops. */
export function recordOps(flat: Array<string | Uint8Array | null>): RecordOp[] {
  const ops: RecordOp[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const value = flat[i + 1];
    ops.push(value instanceof Uint8Array ? { key: flat[i] as string, value } : { key: flat[i] as string });
  }
  return ops;
}
