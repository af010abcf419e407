// msgpack for RPC payloads, in plain TypeScript: the RPC engine treats payloads as opaque bytes,
// so encoding them here saves walking every value through embind on the hot path. It follows the
// core codec's data model and rules exactly (bindings/codec.cpp, core/src/codec/codec.cpp):
//   * numbers that are safe integers encode as the smallest int/uint format, other numbers as
//     float64; bigint as int64/uint64; Uint8Array as bin; arrays; plain objects and Maps as maps;
//     null/undefined as nil;
//   * decoding gives numbers for safe integers, bigint beyond, objects for maps whose keys are all
//     strings and Map otherwise; ext types are rejected, as are truncated or trailing bytes.
// node-tests/rpc.test.mjs checks byte equality with the core codec.
import { DecodeError, InvalidArgumentError, NitroError } from './errors.js';

// The core codec's default limits (core/include/nitro/codec.h), enforced the same way.
const DEPTH_MAX = 64;                   // nested arrays/maps
const FRAME_BYTES_MAX = 16 << 20;       // whole input
const COLLECTION_LEN_MAX = 1 << 20;     // elements of an array, pairs of a map
const STRING_BYTES_MAX = 8 << 20;       // one str or bin
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** A byte buffer that doubles when a write would overflow it (shared with rpc.ts's batch writer). */
export class GrowableBuffer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(initialBytes: number) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/** A GrowableBuffer that msgpack can be encoded into (encodeInto). */
export class Writer extends GrowableBuffer {
  constructor(initialBytes = 256) {
    super(initialBytes);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  head(tag: number, v: number, bytes: 1 | 2 | 4): void {
    this.ensure(1 + bytes);
    this.buf[this.pos++] = tag;
    if (bytes === 1) this.buf[this.pos] = v;
    else if (bytes === 2) this.view.setUint16(this.pos, v);
    else this.view.setUint32(this.pos, v);
    this.pos += bytes;
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

function encodeInt(w: Writer, v: number | bigint): void {
  if (typeof v === 'number') {
    if (v >= 0) {
      if (v < 0x80) return w.u8(v);
      if (v < 0x100) return w.head(0xcc, v, 1);
      if (v < 0x10000) return w.head(0xcd, v, 2);
      if (v < 0x100000000) return w.head(0xce, v, 4);
      v = BigInt(v);
    } else {
      if (v >= -32) return w.u8(v & 0xff);
      if (v >= -128) return w.head(0xd0, v & 0xff, 1);
      if (v >= -32768) return w.head(0xd1, v & 0xffff, 2);
      if (v >= -2147483648) return w.head(0xd2, v >>> 0, 4);
      v = BigInt(v);
    }
  }
  if (v >= 0n) {
    if (v > 0xffffffffffffffffn) throw new InvalidArgumentError(`bigint ${v} is outside uint64`);
    if (v < 0x100000000n) return encodeInt(w, Number(v));
    w.ensure(9);
    w.buf[w.pos++] = 0xcf;
    w.view.setBigUint64(w.pos, v);
  } else {
    if (v < -0x8000000000000000n) throw new InvalidArgumentError(`bigint ${v} is outside int64`);
    if (v >= -2147483648n) return encodeInt(w, Number(v));
    w.ensure(9);
    w.buf[w.pos++] = 0xd3;
    w.view.setBigInt64(w.pos, v);
  }
  w.pos += 8;
}

function strHead(w: Writer, n: number): void {
  if (n < 32) w.u8(0xa0 | n);
  else if (n < 0x100) w.head(0xd9, n, 1);
  else if (n < 0x10000) w.head(0xda, n, 2);
  else w.head(0xdb, n, 4);
}

function encodeStr(w: Writer, s: string): void {
  // ASCII strings (keys, most text) are written without TextEncoder: their byte length is their
  // length, so the header is known up front; on the first non-ASCII char, start over.
  if (s.length < 4096) {
    const start = w.pos;
    strHead(w, s.length);
    w.ensure(s.length);
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      w.buf[w.pos++] = c;
    }
    if (i === s.length) return;
    w.pos = start;
  }
  const b = utf8.encode(s);
  strHead(w, b.length);
  w.raw(b);
}

function encodeLen(w: Writer, n: number, fix: number, fixMax: number, t16: number, t32: number): void {
  if (n < fixMax) w.u8(fix | n);
  else if (n < 0x10000) w.head(t16, n, 2);
  else w.head(t32, n, 4);
}

function encodeValue(w: Writer, v: unknown, depth: number): void {
  if (depth > DEPTH_MAX) throw new InvalidArgumentError(`value nested deeper than ${DEPTH_MAX}`);
  switch (typeof v) {
    case 'number':
      if (Number.isSafeInteger(v)) return encodeInt(w, v);
      w.ensure(9);
      w.buf[w.pos++] = 0xcb;
      w.view.setFloat64(w.pos, v);
      w.pos += 8;
      return;
    case 'string': return encodeStr(w, v);
    case 'boolean': return w.u8(v ? 0xc3 : 0xc2);
    case 'undefined': return w.u8(0xc0);
    case 'bigint': return encodeInt(w, v);
    case 'object': break;
    default: throw new InvalidArgumentError(`cannot encode a JS ${typeof v}`);
  }
  if (v === null) return w.u8(0xc0);
  if (v instanceof Uint8Array) {
    if (v.length < 0x100) w.head(0xc4, v.length, 1);
    else if (v.length < 0x10000) w.head(0xc5, v.length, 2);
    else w.head(0xc6, v.length, 4);
    return w.raw(v);
  }
  if (Array.isArray(v)) {
    encodeLen(w, v.length, 0x90, 16, 0xdc, 0xdd);
    for (const item of v) encodeValue(w, item, depth + 1);
    return;
  }
  if (v instanceof Map) {
    encodeLen(w, v.size, 0x80, 16, 0xde, 0xdf);
    for (const [k, item] of v) {
      encodeValue(w, k, depth + 1);
      encodeValue(w, item, depth + 1);
    }
    return;
  }
  // Only plain objects are maps: a Date, Set, typed array other than Uint8Array, or class
  // instance would otherwise lose its meaning silently (encoded as its own enumerable keys).
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    const name = (v as { constructor?: { name?: string } }).constructor?.name || 'non-plain object';
    throw new InvalidArgumentError(`cannot encode a ${name}: not in the Nitro data model (plain objects, arrays, Map, Uint8Array)`);
  }
  const keys = Object.keys(v as object);
  encodeLen(w, keys.length, 0x80, 16, 0xde, 0xdf);
  for (const k of keys) {
    encodeStr(w, k);
    encodeValue(w, (v as Record<string, unknown>)[k], depth + 1);
  }
}

const shared = new Writer();

export function encode(value: unknown): Uint8Array {
  shared.pos = 0;
  encodeValue(shared, value, 0);
  return shared.buf.slice(0, shared.pos);
}

/** Appends the encoding of `value` to `w` (no intermediate buffer). On a value outside the data
 *  model it throws INVALID_ARGUMENT with `w.pos` back where it was. */
export function encodeInto(w: Writer, value: unknown): void {
  const start = w.pos;
  try {
    encodeValue(w, value, 0);
  } catch (err) {
    w.pos = start;
    throw err;
  }
}

class Reader {
  pos = 0;
  private dataView: DataView | undefined;  // made on first use: small payloads often need none
  constructor(readonly buf: Uint8Array) {}
  get view(): DataView {
    return (this.dataView ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new DecodeError('truncated frame');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

function safe(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

const lenientDecoder = new TextDecoder('utf-8');

// Strings that recur — map keys here, peer ids and names in rpc.ts — are cached by their bytes
// (up to 64) in a small direct-mapped table: a repeat returns the same string object, with no
// allocation, already hashed and internalized by V8, so cheap as a Map key or property name.
// String values are not cached (a unique value would only pay for the copy).
const kCacheSlots = 512;
const kCachedBytesMax = 64;
const cacheBytes: Array<Uint8Array | undefined> = new Array(kCacheSlots);
const cacheStrings: string[] = new Array(kCacheSlots);

function cacheSlot(buf: Uint8Array, pos: number, n: number): number {
  let h = n;
  for (let i = 0; i < n; i += 3) h = (Math.imul(h, 31) + buf[pos + i]) | 0;
  return (h ^ (h >>> 9)) & (kCacheSlots - 1);
}

function cached(slot: number, buf: Uint8Array, pos: number, n: number): string | undefined {
  const c = cacheBytes[slot];
  if (c === undefined || c.length !== n) return undefined;
  for (let i = 0; i < n; i++) if (c[i] !== buf[pos + i]) return undefined;
  return cacheStrings[slot];
}

/** A recurring string (an id, a name) from UTF-8 bytes (`n` of them at `pos`), through the cache
 *  above: invalid UTF-8 throws, or with `lenient` becomes U+FFFD (and is not cached). */
export function utf8String(b: Uint8Array, lenient = false, pos = 0, n = b.length - pos): string {
  return utf8At(b, pos, n, lenient, true);
}

// Never builds `+=` ropes beyond V8's flat-string size (slow to hash and to read).
function utf8At(buf: Uint8Array, pos: number, n: number, lenient: boolean, cache: boolean): string {
  if (n > kCachedBytesMax) return (lenient ? lenientDecoder : utf8Decoder).decode(buf.subarray(pos, pos + n));
  const slot = cache ? cacheSlot(buf, pos, n) : -1;
  const hit = cache ? cached(slot, buf, pos, n) : undefined;
  if (hit !== undefined) return hit;
  let s = '';
  let ascii = n <= 12;  // V8 keeps strings of up to 12 chars flat when built with +=
  for (let i = 0; ascii && i < n; i++) {
    const c = buf[pos + i];
    if (c > 0x7f) ascii = false;
    else s += String.fromCharCode(c);
  }
  if (!ascii) {
    try {
      s = utf8Decoder.decode(buf.subarray(pos, pos + n));  // only valid UTF-8 enters the cache
    } catch (err) {
      if (lenient) return lenientDecoder.decode(buf.subarray(pos, pos + n));
      throw err;
    }
  }
  if (cache) {
    cacheBytes[slot] = new Uint8Array(buf.subarray(pos, pos + n));  // a copy, even of a Buffer
    cacheStrings[slot] = s;
  }
  return s;
}

function checkLength(r: Reader, n: number, max: number, what: string): void {
  if (n > max) throw new DecodeError(`${what} length ${n} exceeds limit ${max}`);
  if (n > r.buf.length - r.pos) throw new DecodeError(`${what} length ${n} exceeds the frame`);
}

// A container at `depth` (the root is 0): at most DEPTH_MAX nested, like the core's parser.
function openContainer(r: Reader, n: number, perItem: number, depth: number, what: string): void {
  if (depth >= DEPTH_MAX) throw new DecodeError(`nesting deeper than ${DEPTH_MAX}`);
  if (n > COLLECTION_LEN_MAX) throw new DecodeError(`${what} length ${n} exceeds limit ${COLLECTION_LEN_MAX}`);
  if (perItem * n > r.buf.length - r.pos) throw new DecodeError(`${what} length ${n} exceeds the frame`);
}

function decodeBin(r: Reader, n: number): Uint8Array {
  checkLength(r, n, STRING_BYTES_MAX, 'bytes');
  return new Uint8Array(r.bytes(n));  // a copy (Buffer's slice() would alias the input)
}

function decodeStr(r: Reader, n: number, cache = false): string {
  checkLength(r, n, STRING_BYTES_MAX, 'string');
  const s = utf8At(r.buf, r.pos, n, false, cache);
  r.pos += n;
  return s;
}

function decodeArray(r: Reader, n: number, depth: number): unknown[] {
  openContainer(r, n, 1, depth, 'array');
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = decodeValue(r, depth + 1);
  return out;
}

// String keys (the common case) build a plain object directly; the first other key switches
// to a Map holding every entry.
function decodeMap(r: Reader, n: number, depth: number): unknown {
  openContainer(r, n, 2, depth, 'map');
  const obj: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = decodeKey(r, depth + 1);
    if (typeof k !== 'string') return decodeMapRest(r, n - i, depth, new Map<unknown, unknown>(Object.entries(obj)), k);
    const v = decodeValue(r, depth + 1);
    if (k === '__proto__') Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
    else obj[k] = v;
  }
  return obj;
}

// A map key: fixstr and str8 keys come from the string cache; anything else decodes as a value.
function decodeKey(r: Reader, depth: number): unknown {
  const t = r.buf[r.pos];
  if (t >= 0xa0 && t <= 0xbf) {
    r.pos++;
    return decodeStr(r, t & 0x1f, true);
  }
  if (t === 0xd9 && r.pos + 1 < r.buf.length) {
    r.pos += 2;
    return decodeStr(r, r.buf[r.pos - 1], true);
  }
  return decodeValue(r, depth);
}

function decodeMapRest(r: Reader, left: number, depth: number, map: Map<unknown, unknown>, key: unknown): Map<unknown, unknown> {
  map.set(key, decodeValue(r, depth + 1));
  for (let i = 1; i < left; i++) {
    const k = decodeValue(r, depth + 1);
    map.set(k, decodeValue(r, depth + 1));
  }
  return map;
}

function decodeValue(r: Reader, depth: number): unknown {
  const t = r.u8();
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t < 0x90) return decodeMap(r, t & 0x0f, depth);
  if (t < 0xa0) return decodeArray(r, t & 0x0f, depth);
  if (t < 0xc0) return decodeStr(r, t & 0x1f);
  let v: number;
  switch (t) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return decodeBin(r, r.u8());
    case 0xc5: return decodeBin(r, r.u16());
    case 0xc6: return decodeBin(r, r.u32());
    case 0xca: r.need(4); v = r.view.getFloat32(r.pos); r.pos += 4; return v;
    case 0xcb: r.need(8); v = r.view.getFloat64(r.pos); r.pos += 8; return v;
    case 0xcc: return r.u8();
    case 0xcd: return r.u16();
    case 0xce: return r.u32();
    case 0xcf: { r.need(8); const b = r.view.getBigUint64(r.pos); r.pos += 8; return safe(b); }
    case 0xd0: r.need(1); v = r.view.getInt8(r.pos); r.pos += 1; return v;
    case 0xd1: r.need(2); v = r.view.getInt16(r.pos); r.pos += 2; return v;
    case 0xd2: r.need(4); v = r.view.getInt32(r.pos); r.pos += 4; return v;
    case 0xd3: { r.need(8); const b = r.view.getBigInt64(r.pos); r.pos += 8; return safe(b); }
    case 0xd9: return decodeStr(r, r.u8());
    case 0xda: return decodeStr(r, r.u16());
    case 0xdb: return decodeStr(r, r.u32());
    case 0xdc: return decodeArray(r, r.u16(), depth);
    case 0xdd: return decodeArray(r, r.u32(), depth);
    case 0xde: return decodeMap(r, r.u16(), depth);
    case 0xdf: return decodeMap(r, r.u32(), depth);
    default:
      throw new DecodeError(t === 0xc1 ? 'invalid msgpack byte 0xc1' : 'ext types are not part of the Nitro data model');
  }
}

/** Decodes exactly one value spanning all of `bytes`; malformed input throws DECODE_ERROR. */
export function decode(bytes: Uint8Array): unknown {
  if (bytes.length > FRAME_BYTES_MAX) throw new DecodeError(`frame of ${bytes.length} bytes exceeds limit ${FRAME_BYTES_MAX}`);
  if (bytes.length === 0) throw new DecodeError('empty frame');
  const r = new Reader(bytes);
  let v: unknown;
  try {
    v = decodeValue(r, 0);
  } catch (err) {
    if (err instanceof NitroError) throw err;
    throw new DecodeError(`malformed frame: ${(err as Error).message}`);  // invalid UTF-8
  }
  if (r.pos !== bytes.length) throw new DecodeError(`${bytes.length - r.pos} trailing bytes after the value`);
  return v;
}
