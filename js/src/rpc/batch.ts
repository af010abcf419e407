// The host batches of the RPC composition, JS side: step input written here, drain batches read
// here. The layout is the core's (core/include/nitro/rpc_batch.h, fuzzed there).
import { NitroError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { decode as decodeMsgpack, encodeInto, utf8String, Writer } from '../msgpack.js';
import type { ClientCallInfo, ContentType, EngineEvent, Metadata, StreamKind, Strategy } from './types.js';

const textEncoder = new TextEncoder();
export const STRATEGIES: Strategy[] = ['random', 'round-robin', 'hash'];  // the core's Strategy values
export const STREAM_KINDS: StreamKind[] = ['unary', 'server', 'client', 'bidi'];
export const CONTENT_TYPES: ContentType[] = ['msgpack', 'json', 'protobuf'];  // the core's ContentType values
const EVENT_KINDS: EngineEvent['kind'][] = ['request', 'message', 'halfClose', 'done', 'cancelled', 'writable'];

// "k\0v\0k\0v": one string across the boundary (see core/include/nitro/rpc_batch.h).
export function packMetadata(md: Metadata): string {
  let out = '';
  for (const key in md) {
    const value = String(md[key]);
    if (key.includes('\0') || value.includes('\0')) throw new NitroError('INVALID_ARGUMENT', 'metadata may not contain NUL');
    out += (out ? '\0' : '') + key + '\0' + value;
  }
  return out;
}

/** Input for the engine's next step() (layout in core/include/nitro/rpc_batch.h): messages received,
 *  handler responses, call starts and cancels since the last drain, so they cross into wasm together. */
export class InboundQueue extends Writer {
  private starts: number[] = [];  // where each queued record begins
  private cut = 0;                // bytes handed out by the last take()
  private cutRecords = 0;

  constructor() {
    super(4096);
  }

  empty(): boolean {
    return this.pos === 0;
  }
  /** A link message from `peer` (RPC over a link; a node's messages never pass through JS). */
  push(peer: string, frame: Uint8Array): void {
    this.starts.push(this.pos);
    this.ensure(1);
    this.buf[this.pos++] = 1;
    this.str(peer);
    this.bin(frame);
  }
  respond(handle: number, code: string, message: string, payload: Uint8Array, trailer: string, details: Uint8Array): void {
    this.starts.push(this.pos);
    this.ensure(9 + payload.length + details.length);
    this.buf[this.pos++] = 2;
    this.f64(handle);
    this.str(code);
    this.str(message);
    this.bin(payload);
    this.str(trailer);
    this.bin(details);
  }
  // A unary call start: a JSON or protobuf request comes encoded, a msgpack one (`encoded` null) is
  // encoded in place. Throws with the queue unchanged when it cannot be encoded.
  start(handle: number, info: ClientCallInfo, metadata: string, contentType: ContentType, encoded: Uint8Array | null): void {
    const o = info.options;
    const start = this.pos;
    this.starts.push(start);
    this.ensure(9);
    this.buf[this.pos++] = 3;
    this.f64(handle);
    this.str(o.peer ?? '');
    this.str(info.service);
    this.str(info.method);
    this.str(metadata);
    if (encoded) {
      this.bin(encoded);
    } else {
      this.ensure(4);
      const lengthAt = this.pos;
      this.pos += 4;
      try {
        encodeInto(this, info.request);
      } catch (err) {
        this.pos = start;
        this.starts.pop();
        throw err;
      }
      this.view.setUint32(lengthAt, this.pos - lengthAt - 4, true);
    }
    this.ensure(32);
    this.buf[this.pos++] = CONTENT_TYPES.indexOf(contentType);
    this.buf[this.pos++] = STREAM_KINDS.indexOf(info.kind);
    this.f64(o.timeoutMs ?? 30000);
    this.f64(o.attemptTimeoutMs ?? 0);
    this.buf[this.pos++] = o.idempotent ? 1 : 0;
    this.view.setUint32(this.pos, (o.retries ?? 0) >>> 0, true);
    this.pos += 4;
    this.buf[this.pos++] = STRATEGIES.indexOf(o.strategy ?? 'round-robin');
    this.str(o.key ?? '');
  }
  cancel(handle: number): void {
    this.starts.push(this.pos);
    this.ensure(9);
    this.buf[this.pos++] = 4;
    this.f64(handle);
  }
  /** The first `max` queued records (all when fewer), as a view to copy before the next push;
   *  then drop() removes them. */
  take(max: number): Uint8Array {
    this.cutRecords = Math.min(max, this.starts.length);
    this.cut = this.cutRecords < this.starts.length ? this.starts[this.cutRecords]! : this.pos;
    return this.buf.subarray(0, this.cut);
  }
  drop(): void {
    if (this.cut === this.pos) {
      this.pos = 0;
      this.starts.length = 0;
    } else {
      this.buf.copyWithin(0, this.cut, this.pos);
      this.pos -= this.cut;
      this.starts = this.starts.slice(this.cutRecords).map((at) => at - this.cut);
    }
    this.cut = this.cutRecords = 0;
  }
  private f64(v: number): void {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  private bin(b: Uint8Array): void {
    this.ensure(4 + b.length);
    this.view.setUint32(this.pos, b.length, true);
    this.buf.set(b, this.pos + 4);
    this.pos += 4 + b.length;
  }
  // u32 length + UTF-8, written in place: ASCII (names, codes, ids) without TextEncoder.
  private str(s: string): void {
    this.ensure(4 + s.length);
    const start = this.pos + 4;
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      this.buf[start + i] = c;
    }
    if (i < s.length) {
      this.ensure(4 + 3 * s.length);  // UTF-8 is at most 3 bytes per UTF-16 unit
      i = textEncoder.encodeInto(s, this.buf.subarray(start)).written;
    }
    this.view.setUint32(this.pos, i, true);
    this.pos = start + i;
  }
}

/** Reads drain batches (layout in core/include/nitro/rpc_batch.h). Byte fields are views into
 *  the batch, which is a fresh copy owned by JS. */
export class BatchReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  done(): boolean {
    return this.offset >= this.bytes.length;
  }
  u8(): number {
    return this.bytes[this.offset++];
  }
  u32(): number {
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }
  f64(): number {
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }
  bin(): Uint8Array {
    const n = this.u32();
    const b = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  str(): string {
    const n = this.u32();
    const s = utf8String(this.bytes, true, this.offset, n);  // lenient: peers' text never throws
    this.offset += n;
    return s;
  }
  // Most calls carry no metadata and no headers: no object for them.
  md(): Metadata | undefined {
    let n = this.u32();
    if (n === 0) return undefined;
    const m: Metadata = {};
    for (; n > 0; n--) {
      const k = this.str();
      m[k] = this.str();
    }
    return m;
  }
  event(): EngineEvent {
    const kind = EVENT_KINDS[this.u8()];
    const handle = this.f64();
    const streamKind = STREAM_KINDS[this.u8()];
    const e: EngineEvent = { kind, handle, streamKind, peer: this.str() };
    if (kind === 'request') {
      e.service = this.str();
      e.method = this.str();
      e.metadata = this.md();
      e.payload = this.bin();
      e.contentType = CONTENT_TYPES[this.u8()] ?? 'msgpack';
      const deadline = this.f64();
      e.deadlineAtMs = deadline < 0 ? null : deadline;
    } else if (kind === 'message') {
      e.payload = this.bin();
      e.header = this.md();
    } else if (kind === 'done') {
      e.code = this.str() as ErrorCode | 'OK';
      e.message = this.str();
      e.payload = this.bin();
      e.metadata = this.md();
      const details = this.bin();
      e.details = details.length ? decodeMsgpack(details) : undefined;
      e.attempts = this.u32();
      e.header = this.md();
    } else if (kind === 'cancelled') {
      e.code = this.str() as ErrorCode;
      e.message = this.str();
    }
    return e;
  }
}

