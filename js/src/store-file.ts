// fileStore(dir) for Node: the key/value Store on a local disk, crash-safe.
//
// Each key is one file `<dir>/<sha256(key) hex>.kv` (so any key fits the file-name limit):
//   "NKV1" | u32 CRC-32 of the rest | u32 key length | f64 expiry ms (0: none) | key | value.
// A write goes to `<hash>.tmp`, is fsynced, renamed over the file and the directory fsynced before
// the promise resolves: a crash leaves the old or the new file, never a mix.
// A batch of several ops is first written as one checksummed journal `<dir>/batch.journal` and
// fsynced (the commit point), then applied file by file, then the journal is removed. On open a
// whole journal is replayed (applying it again is harmless) and a torn one, never acknowledged,
// is dropped. Every call runs one after another through one queue; one process owns a directory.
// Document logs of the previous format (`<hex name>.nlog`) are converted when the store opens.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { NitroError } from './errors.js';
import {
  checkKey, checkOpen, checkOps, checkValue, expiryOf, pageOfKeys, seqKey, withDocLog,
  type KvStore, type Store, type StoreClockOptions, type StoreListPage, type StoreOp,
} from './store.js';

const kMagic = 0x3156_4b4e; // "NKV1" little-endian
const kJournalMagic = 0x314a_4b4e; // "NKJ1"
const kHeader = 20;
const kJournal = 'batch.journal';

let table: Uint32Array | undefined;
export function crc32(bytes: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
  if (native) return native(bytes) >>> 0;
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of bytes) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The file name of a key: fixed length whatever the key. */
export function fileNameOf(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex') + '.kv';
}

interface Entry {
  key: string;
  value: Uint8Array;
  expiresAt?: number;
}

function encodeEntry(e: Entry): Uint8Array {
  const key = Buffer.from(e.key, 'utf8');
  const out = new Uint8Array(kHeader + key.length + e.value.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, kMagic, true);
  view.setUint32(8, key.length, true);
  view.setFloat64(12, e.expiresAt ?? 0, true);
  out.set(key, kHeader);
  out.set(e.value, kHeader + key.length);
  view.setUint32(4, crc32(out.subarray(8)), true);
  return out;
}

/** The entry in a file's bytes, or undefined when they are not one whole, intact entry. */
export function decodeEntry(bytes: Uint8Array): Entry | undefined {
  if (bytes.length < kHeader) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== kMagic || view.getUint32(4, true) !== crc32(bytes.subarray(8))) return undefined;
  const keyLen = view.getUint32(8, true);
  if (kHeader + keyLen > bytes.length) return undefined;
  const expiresAt = view.getFloat64(12, true);
  const key = Buffer.from(bytes.subarray(kHeader, kHeader + keyLen)).toString('utf8');
  const entry: Entry = { key, value: bytes.slice(kHeader + keyLen) };
  if (expiresAt !== 0) entry.expiresAt = expiresAt;
  return entry;
}

function encodeJournal(ops: StoreOp[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 12;
  for (const op of ops) {
    const key = Buffer.from(op.key, 'utf8');
    const head = new Uint8Array(9);
    const hv = new DataView(head.buffer);
    hv.setUint8(0, op.value ? 1 : 0);
    hv.setUint32(1, key.length, true);
    hv.setUint32(5, op.value?.length ?? 0, true);
    parts.push(head, key, op.value ?? new Uint8Array(0));
    size += 9 + key.length + (op.value?.length ?? 0);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, kJournalMagic, true);
  view.setUint32(8, ops.length, true);
  let at = 12;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  view.setUint32(4, crc32(out.subarray(8)), true);
  return out;
}

/** The ops of a whole journal, or undefined for a torn or corrupt one. Bounded by the input size. */
export function decodeJournal(bytes: Uint8Array): StoreOp[] | undefined {
  if (bytes.length < 12) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== kJournalMagic || view.getUint32(4, true) !== crc32(bytes.subarray(8))) return undefined;
  const count = view.getUint32(8, true);
  const ops: StoreOp[] = [];
  let at = 12;
  for (let i = 0; i < count; i++) {
    if (at + 9 > bytes.length) return undefined;
    const put = view.getUint8(at) === 1;
    const keyLen = view.getUint32(at + 1, true);
    const valueLen = view.getUint32(at + 5, true);
    at += 9;
    if (at + keyLen + valueLen > bytes.length) return undefined;
    const key = Buffer.from(bytes.subarray(at, at + keyLen)).toString('utf8');
    at += keyLen;
    ops.push(put ? { key, value: bytes.slice(at, at + valueLen) } : { key });
    at += valueLen;
  }
  return at === bytes.length ? ops : undefined;
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function unlinkOptional(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const fd = await open(path, 'w');
  try {
    await fd.write(bytes, 0, bytes.length, 0);
    await fd.sync();
  } finally {
    await fd.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** The key/value Store in directory `dir` (created when missing). Also a DocStore. */
export function fileStore(dir: string, options: StoreClockOptions = {}): KvStore {
  const now = options.now ?? Date.now;
  const index = new Map<string, { expiresAt?: number }>(); // live keys
  let sorted: string[] | undefined;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  let opened: Promise<void> | undefined;

  const pathOf = (key: string) => join(dir, fileNameOf(key));
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      checkOpen(closed, 'fileStore');
      await (opened ??= openDir());
      return task();
    });
    queue = run.catch(() => undefined);
    return run;
  };

  async function openDir(): Promise<void> {
    await mkdir(dir, { recursive: true });
    const journal = await readOptional(join(dir, kJournal));
    if (journal) {
      const ops = decodeJournal(journal);
      if (ops) await applyOps(ops);
      await unlinkOptional(join(dir, kJournal));
      await syncDir(dir);
    }
    for (const name of await readdir(dir)) {
      if (name.endsWith('.nlog')) await migrateLog(name);
    }
    for (const name of await readdir(dir)) {
      if (name.endsWith('.tmp')) await unlinkOptional(join(dir, name));
      if (!name.endsWith('.kv')) continue;
      const entry = decodeEntry((await readOptional(join(dir, name))) ?? new Uint8Array(0));
      if (!entry || fileNameOf(entry.key) !== name) continue;
      // Expired entries are removed here (a lost unlink only means it is removed next time).
      if (entry.expiresAt !== undefined && entry.expiresAt <= now()) await unlinkOptional(join(dir, name));
      else index.set(entry.key, { expiresAt: entry.expiresAt });
    }
    sorted = undefined;
  }

  // A document log of the previous format (`<hex(name)>.nlog`: records of u32 length, u32 CRC-32,
  // payload) becomes the same document's entries here, then the log is removed. Entries are
  // written at sequence numbers 0.. so a crash before the removal repeats the same writes.
  async function migrateLog(fileName: string): Promise<void> {
    const docName = Buffer.from(fileName.slice(0, -'.nlog'.length), 'hex').toString('utf8');
    const bytes = (await readOptional(join(dir, fileName))) ?? new Uint8Array(0);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const records: Uint8Array[] = [];
    for (let at = 0; at + 8 <= bytes.length;) {
      const len = view.getUint32(at, true);
      if (at + 8 + len > bytes.length) break;
      const payload = bytes.subarray(at + 8, at + 8 + len);
      if (crc32(payload) !== view.getUint32(at + 4, true)) break; // a torn tail: never acknowledged
      records.push(payload.slice());
      at += 8 + len;
    }
    for (const [seq, record] of records.entries()) await apply(seqKey(docName, seq), record);
    await syncDir(dir);
    await unlinkOptional(join(dir, fileName));
    await syncDir(dir);
  }

  // Writes or removes one key's file; the caller fsyncs the directory.
  async function apply(key: string, value: Uint8Array | undefined, expiresAt?: number): Promise<void> {
    const path = pathOf(key);
    if (value === undefined) {
      await unlinkOptional(path);
      index.delete(key);
    } else {
      const tmp = path.slice(0, -3) + '.tmp';
      await writeSynced(tmp, encodeEntry({ key, value, expiresAt }));
      await rename(tmp, path);
      index.set(key, { expiresAt });
    }
    sorted = undefined;
  }

  async function applyOps(ops: StoreOp[]): Promise<void> {
    for (const op of ops) await apply(op.key, op.value);
    await syncDir(dir);
  }

  function live(key: string): boolean {
    const meta = index.get(key);
    return meta !== undefined && (meta.expiresAt === undefined || meta.expiresAt > now());
  }

  async function readLive(key: string): Promise<Uint8Array | undefined> {
    if (!live(key)) return undefined;
    const entry = decodeEntry((await readOptional(pathOf(key))) ?? new Uint8Array(0));
    if (!entry || entry.key !== key) throw new NitroError('DATA_LOSS', `fileStore: the file of key ${JSON.stringify(key)} is unreadable`);
    return entry.value;
  }

  const store: Store = {
    async read(key) {
      checkKey(key);
      return serial(() => readLive(key));
    },
    async write(key, value, opts) {
      checkKey(key);
      checkValue(value);
      const expiresAt = expiryOf(opts, now);
      const copy = value.slice();
      return serial(async () => {
        await apply(key, copy, expiresAt);
        await syncDir(dir);
      });
    },
    async delete(key) {
      checkKey(key);
      return serial(async () => {
        if (!index.has(key)) return;
        await apply(key, undefined);
        await syncDir(dir);
      });
    },
    async list(prefix, opts) {
      checkKey(prefix);
      return serial(async () => {
        sorted ??= [...index.keys()].sort();
        const live_ = sorted.filter((k) => k.startsWith(prefix) && live(k));
        const { keys, more } = pageOfKeys(live_, prefix, opts);
        const page: StoreListPage = { entries: [] };
        for (const key of keys) page.entries.push([key, (await readLive(key))!]);
        if (more) page.cursor = keys[keys.length - 1];
        return page;
      });
    },
    async batch(ops) {
      checkOps(ops);
      const copy = ops.map((op) => (op.value ? { key: op.key, value: op.value.slice() } : { key: op.key }));
      return serial(async () => {
        if (copy.length === 0) return;
        if (copy.length === 1) return applyOps(copy);
        const journal = join(dir, kJournal);
        await writeSynced(journal, encodeJournal(copy));
        await syncDir(dir); // the batch is committed here
        await applyOps(copy);
        await unlink(journal);
        await syncDir(dir); // a later op must never be undone by replaying this journal
      });
    },
    async close() {
      await queue; // pending calls finish first
      closed = true;
    },
  };
  return withDocLog(store);
}
