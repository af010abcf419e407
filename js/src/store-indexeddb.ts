// indexedDbStore(name): the DocStore for browsers and workers. One object store of records keyed by
// [document, sequence]; append adds a record in its own transaction (durable once it completes),
// compact replaces a document's records by one snapshot in a single transaction, so a crash leaves
// either the old log or the new snapshot, never a mix. No Node built-ins.
import { NitroError } from './errors.js';
import type { DocStore } from './store.js';

const kStoreName = 'updates';

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

function open(dbName: string): Promise<IDBDatabase> {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!idb) return Promise.reject(new NitroError('UNAVAILABLE', 'indexedDbStore(): no IndexedDB in this environment'));
  const req = idb.open(dbName, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(kStoreName);
  return request(req);
}

/** Key range covering every record of one document: [name, 0] .. [name, +inf]. */
const docRange = (name: string) => IDBKeyRange.bound([name, 0], [name, Infinity]);

/** A DocStore in the browser's IndexedDB database `dbName`. */
export function indexedDbStore(dbName: string): DocStore {
  const db = open(dbName);
  const nextSeq = new Map<string, number>();

  async function lastSeq(d: IDBDatabase, name: string): Promise<number> {
    const known = nextSeq.get(name);
    if (known !== undefined) return known;
    const keys = await request(d.transaction(kStoreName).objectStore(kStoreName).getAllKeys(docRange(name)));
    const last = keys.length ? ((keys[keys.length - 1] as [string, number])[1] + 1) : 0;
    nextSeq.set(name, last);
    return last;
  }

  return {
    async load(name) {
      const d = await db;
      const values = await request(d.transaction(kStoreName).objectStore(kStoreName).getAll(docRange(name)));
      return values.map((v) => new Uint8Array(v as ArrayBuffer));
    },
    async append(name, update) {
      const d = await db;
      const seq = await lastSeq(d, name);
      nextSeq.set(name, seq + 1);
      const tx = d.transaction(kStoreName, 'readwrite', { durability: 'strict' } as IDBTransactionOptions);
      tx.objectStore(kStoreName).put(update.slice().buffer, [name, seq]);
      await done(tx);
    },
    async compact(name, snapshot) {
      const d = await db;
      const tx = d.transaction(kStoreName, 'readwrite', { durability: 'strict' } as IDBTransactionOptions);
      const store = tx.objectStore(kStoreName);
      store.delete(docRange(name));
      store.put(snapshot.slice().buffer, [name, 0]);
      nextSeq.set(name, 1);
      await done(tx);
    },
    async close() {
      (await db).close();
    },
  };
}
