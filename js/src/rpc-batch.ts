// Write coalescing for RPC links: the frames an Rpc emits for one peer within a microtask (a
// burst of calls, the responses to one socket read) leave as ONE link message, so a burst costs
// one socket write, and on the node's secure links one seal, instead of one per frame.
//
// Message layout: one or more `[varint length][frame]` entries, the varint unsigned LEB128.
// A message is at most kBatchBytesMax; a frame larger than that travels alone (the link's own
// frame limit then applies). splitFrames is total: a malformed message yields a typed error and
// no frames.
import { NitroError } from './errors.js';
import { GrowableBuffer } from './msgpack.js';

export const kBatchBytesMax = 256 * 1024;
const kPow2 = [1, 2 ** 7, 2 ** 14, 2 ** 21, 2 ** 28];  // varint digit weights (no Math.pow per byte)

const kSpareBuffersMax = 4;
const kBufferBytesInitial = 16 * 1024;

/** Collects frames per peer and hands each peer's batch to `write` on the next microtask. */
export class FrameBatcher {
  private readonly pending = new Map<string, GrowableBuffer>();
  private readonly spare: GrowableBuffer[] = [];  // reused: a batch buffer is grown once, not per burst
  private scheduled = false;

  /** `write(peer, message)` sends one batch; `message` is valid only during the call (copy it to
   *  keep it). `fail(peer)` is told when `write` throws. */
  constructor(private readonly write: (peer: string, message: Uint8Array) => void,
              private readonly fail: (peer: string) => void) {}

  /** Copies `frame` into `peer`'s batch (the caller may reuse its bytes afterwards). */
  push(peer: string, frame: Uint8Array): void {
    let batch = this.pending.get(peer);
    if (batch && batch.pos + frame.length + 5 > kBatchBytesMax) {
      this.send(peer, batch);
      batch = undefined;
    }
    if (!batch) {
      batch = this.spare.pop() ?? new GrowableBuffer(kBufferBytesInitial);
      this.pending.set(peer, batch);
    }
    batch.ensure(frame.length + 5);
    batch.pos = writeVarint(batch.buf, batch.pos, frame.length);
    batch.buf.set(frame, batch.pos);
    batch.pos += frame.length;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Sends every pending batch now. */
  flush(): void {
    this.scheduled = false;
    const batches = [...this.pending];
    this.pending.clear();
    for (const [peer, batch] of batches) this.send(peer, batch);
  }

  /** Drops what is pending for `peer` (its link went away). */
  forget(peer: string): void {
    const batch = this.pending.get(peer);
    this.pending.delete(peer);
    if (batch) this.recycle(batch);
  }

  private send(peer: string, batch: GrowableBuffer): void {
    if (this.pending.get(peer) === batch) this.pending.delete(peer);
    try {
      this.write(peer, batch.buf.subarray(0, batch.pos));
    } catch {
      this.fail(peer);
    } finally {
      this.recycle(batch);
    }
  }

  private recycle(batch: GrowableBuffer): void {
    batch.pos = 0;
    if (this.spare.length < kSpareBuffersMax && batch.buf.length <= kBatchBytesMax) this.spare.push(batch);
  }
}

/** Calls `onFrame` for each frame of a batch message (views into `message`). Throws a
 *  DECODE_ERROR NitroError, before delivering anything, when the message is malformed. */
export function splitFrames(message: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
  const frames: Uint8Array[] = [];
  let pos = 0;
  while (pos < message.length) {
    let length = 0;
    let shift = 0;
    for (;;) {
      if (pos >= message.length || shift > 28) throw new NitroError('DECODE_ERROR', 'rpc batch: bad frame length');
      const b = message[pos++];
      length += (b & 0x7f) * kPow2[shift / 7];
      shift += 7;
      if (b < 0x80) break;
    }
    if (length > message.length - pos) throw new NitroError('DECODE_ERROR', 'rpc batch: frame runs past the message');
    frames.push(message.subarray(pos, pos + length));
    pos += length;
  }
  for (const frame of frames) onFrame(frame);
}

function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}
