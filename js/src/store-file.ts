// fileStore(dir) for Node: one append-only log per document, `<dir>/<hex(name)>.nlog`.
// Record := u32 length (LE) | u32 CRC-32 of the payload (LE) | payload. An append is written and
// fsynced before its promise resolves, so an acknowledged update survives a crash. A torn tail
// (a record cut short or failing its checksum, from a crash mid-write) is ignored on load and
// cut off before the next append. Compaction writes the snapshot to a temporary file, fsyncs it,
// renames it over the log and fsyncs the directory: a crash leaves either log, never a mix.
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { NitroError } from './errors.js';
import type { DocStore } from './store.js';

const kRecordHeader = 8;
const kRecordMax = 256 * 1024 * 1024; // one update; larger lengths mark a torn or corrupt record

let table: Uint32Array | undefined;
function crc32(bytes: Uint8Array): number {
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

function record(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(kRecordHeader + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32(payload), true);
  out.set(payload, kRecordHeader);
  return out;
}

/** Parses whole records; returns them and the byte length of the valid prefix. */
export function parseLog(bytes: Uint8Array): { records: Uint8Array[]; validBytes: number } {
  const records: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + kRecordHeader <= bytes.length) {
    const len = view.getUint32(at, true);
    const sum = view.getUint32(at + 4, true);
    if (len > kRecordMax || at + kRecordHeader + len > bytes.length) break;
    const payload = bytes.subarray(at + kRecordHeader, at + kRecordHeader + len);
    if (crc32(payload) !== sum) break;
    records.push(payload.slice());
    at += kRecordHeader + len;
  }
  return { records, validBytes: at };
}

export function fileStore(dir: string): DocStore {
  const logs = new Map<string, { fd: FileHandle; size: number }>();
  const pathOf = (name: string) => join(dir, `${Buffer.from(name, 'utf8').toString('hex')}.nlog`);
  let closed = false;

  async function readLog(name: string): Promise<{ records: Uint8Array[]; validBytes: number }> {
    try {
      return parseLog(new Uint8Array(await readFile(pathOf(name))));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], validBytes: 0 };
      throw e;
    }
  }

  // Opens the log for appending, first cutting off a torn tail so new records follow valid ones.
  async function handle(name: string) {
    if (closed) throw new NitroError('FAILED_PRECONDITION', 'fileStore is closed');
    let log = logs.get(name);
    if (log) return log;
    await mkdir(dir, { recursive: true });
    const { validBytes } = await readLog(name);
    const fd = await open(pathOf(name), 'a+');
    const { size } = await fd.stat();
    if (size > validBytes) {
      await fd.truncate(validBytes);
      await fd.sync();
    }
    log = { fd, size: validBytes };
    logs.set(name, log);
    return log;
  }

  async function syncDir() {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  return {
    async load(name) {
      return (await readLog(name)).records;
    },
    async append(name, update) {
      const log = await handle(name);
      const bytes = record(update);
      await log.fd.write(bytes, 0, bytes.length, null);
      await log.fd.sync();
      log.size += bytes.length;
    },
    async compact(name, snapshot) {
      await mkdir(dir, { recursive: true });
      const tmp = `${pathOf(name)}.tmp`;
      const fd = await open(tmp, 'w');
      try {
        const bytes = record(snapshot);
        await fd.write(bytes, 0, bytes.length, 0);
        await fd.sync();
      } finally {
        await fd.close();
      }
      const old = logs.get(name);
      logs.delete(name);
      await old?.fd.close();
      await rename(tmp, pathOf(name));
      await syncDir();
    },
    async close() {
      closed = true;
      for (const { fd } of logs.values()) await fd.close();
      logs.clear();
    },
  };
}

/** Removes a document's log (tests, tools). */
export async function removeLog(dir: string, name: string): Promise<void> {
  await rm(join(dir, `${Buffer.from(name, 'utf8').toString('hex')}.nlog`), { force: true });
}
