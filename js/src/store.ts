// Document storage: a store keeps, per document name, a snapshot plus the updates applied since,
// and `persist()` wires a Doc to it (load on open, append every update, compact on demand).
// memoryStore() is here (any platform); fileStore(dir) is in store-file.ts (Node only).
import type { Doc } from './doc.js';

export interface DocStore {
  /** Every stored update of the document, oldest first (a snapshot counts as one). */
  load(name: string): Promise<Uint8Array[]>;
  /** Stores one update; durable when the promise resolves. */
  append(name: string, update: Uint8Array): Promise<void>;
  /** Replaces everything stored for the document by one snapshot (its encoded state). */
  compact(name: string, snapshot: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** In-memory store (the default): survives nothing but a Doc being recreated in-process. */
export function memoryStore(): DocStore {
  const docs = new Map<string, Uint8Array[]>();
  return {
    async load(name) {
      return [...(docs.get(name) ?? [])];
    },
    async append(name, update) {
      const list = docs.get(name) ?? [];
      list.push(update.slice());
      docs.set(name, list);
    },
    async compact(name, snapshot) {
      docs.set(name, [snapshot.slice()]);
    },
    async close() {},
  };
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
