// indexedDbStore(name): the key/value Store for browsers and workers, in the IndexedDB database
// `name`, object store `kv` (string keys; values { v: ArrayBuffer, e?: expiry ms }). Every call is
// one transaction with strict durability, so a write or a batch is on disk, all or nothing, when
// its promise resolves. The DocStore methods come from docLog(), which runs one document's calls
// one after another: two appends started together get distinct sequence numbers (the old log
// read its last sequence number and wrote after an await, so concurrent appends could share one).
// No Node built-ins.
import { NitroError } from './errors.js';
import {
  checkKey, checkLimit, checkOps, checkValue, expiryOf, seqKey, withDocLog,
  type KvStore, type Store, type StoreClockOptions, type StoreListPage,
} from './store.js';

const kStoreName = 'kv';
const kVersion = 2;
const kSweepEveryMs = 60_000;
const kStrict = { durability: 'strict' } as IDBTransactionOptions;

interface Row {
  v: ArrayBuffer;
  e?: number;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

function openDb(dbName: string): Promise<IDBDatabase> {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!idb) return Promise.reject(new NitroError('UNAVAILABLE', 'indexedDbStore(): no IndexedDB in this environment'));
  const req = idb.open(dbName, kVersion);
  req.onupgradeneeded = () => {
    const db = req.result;
    if (!db.objectStoreNames.contains(kStoreName)) db.createObjectStore(kStoreName);
    if (db.objectStoreNames.contains(kOldStoreName)) migrate(db, req.transaction!);
  };
  return request(req);
}

// Version 1 kept document logs in `updates`, keyed [document, sequence]: they become the same
// document's entries in `kv` within the upgrade transaction (all or nothing), then `updates` goes.
const kOldStoreName = 'updates';
function migrate(db: IDBDatabase, tx: IDBTransaction): void {
  const kv = tx.objectStore(kStoreName);
  const cursorReq = tx.objectStore(kOldStoreName).openCursor();
  cursorReq.onsuccess = () => {
    const c = cursorReq.result;
    if (!c) return db.deleteObjectStore(kOldStoreName);
    const [name, seq] = c.key as [string, number];
    kv.put({ v: c.value as ArrayBuffer } satisfies Row, seqKey(name, seq));
    c.continue();
  };
}

const toBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer as ArrayBuffer;

/** A Store (and DocStore) in the browser's IndexedDB database `dbName`. */
export function indexedDbStore(dbName: string, options: StoreClockOptions = {}): KvStore {
  const now = options.now ?? Date.now;
  const db = openDb(dbName);
  db.catch(() => undefined); // reported by the first call
  const live = (row: Row | undefined) => row !== undefined && (row.e === undefined || row.e > now());
  // Expired rows are invisible at once and deleted by a sweep that rides on writes, at most once
  // per kSweepEveryMs (no timer of its own).
  let sweptAt = -Infinity;
  const sweep = async (d: IDBDatabase) => {
    const t = now();
    if (t - sweptAt < kSweepEveryMs) return;
    sweptAt = t;
    const tx = d.transaction(kStoreName, 'readwrite');
    const req = tx.objectStore(kStoreName).openCursor();
    req.onsuccess = () => {
      const c = req.result;
      if (!c) return;
      const row = c.value as Row;
      if (row.e !== undefined && row.e <= t) c.delete();
      c.continue();
    };
    await done(tx);
  };

  const store: Store = {
    async read(key) {
      checkKey(key);
      const d = await db;
      const row = await request(d.transaction(kStoreName).objectStore(kStoreName).get(key)) as Row | undefined;
      return live(row) ? new Uint8Array(row!.v) : undefined;
    },
    async write(key, value, opts) {
      checkKey(key);
      checkValue(value);
      const row: Row = { v: toBuffer(value) };
      const e = expiryOf(opts, now);
      if (e !== undefined) row.e = e;
      const d = await db;
      const tx = d.transaction(kStoreName, 'readwrite', kStrict);
      tx.objectStore(kStoreName).put(row, key);
      await done(tx);
      await sweep(d);
    },
    async delete(key) {
      checkKey(key);
      const tx = (await db).transaction(kStoreName, 'readwrite', kStrict);
      tx.objectStore(kStoreName).delete(key);
      await done(tx);
    },
    async list(prefix, opts) {
      checkKey(prefix);
      const limit = checkLimit(opts);
      const after = opts?.cursor;
      const range = after !== undefined && after >= prefix ? IDBKeyRange.lowerBound(after, true) : IDBKeyRange.lowerBound(prefix);
      const page: StoreListPage = { entries: [] };
      const tx = (await db).transaction(kStoreName);
      await new Promise<void>((resolve, reject) => {
        const req = tx.objectStore(kStoreName).openCursor(range);
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const c = req.result;
          if (!c || !(c.key as string).startsWith(prefix)) return resolve();
          if (page.entries.length === limit) {
            page.cursor = page.entries[page.entries.length - 1]![0];
            return resolve();
          }
          if (live(c.value as Row)) page.entries.push([c.key as string, new Uint8Array((c.value as Row).v)]);
          c.continue();
        };
      });
      return page;
    },
    async batch(ops) {
      checkOps(ops);
      if (ops.length === 0) return;
      const tx = (await db).transaction(kStoreName, 'readwrite', kStrict);
      const os = tx.objectStore(kStoreName);
      for (const op of ops) {
        if (op.value === undefined) os.delete(op.key);
        else os.put({ v: toBuffer(op.value) } satisfies Row, op.key);
      }
      await done(tx);
    },
    async close() {
      (await db).close();
    },
  };
  return withDocLog(store);
}
