// Where an Rpc's engine lives. A node runs the RPC composition in its core (rpc/node.ts); RPC
// without a node runs a bare core engine over a link (LinkHost, below): the same engine, step and
// drain formats and link messages, with the link and one timer supplied here.
import { NitroError, unwrap } from '../errors.js';
import { randomSafeInteger } from '../random.js';
import { getModule } from '../wasm.js';
import type { RpcLink, RpcOptions } from './types.js';

export interface RpcHostCallbacks {
  receive(peer: string, message: Uint8Array): void;  // a link message (RPC over a link)
  peerDown(peer: string): void;
  events(batch: Uint8Array): void;                   // a drain batch the core emitted by itself
  tick(): void;                                      // the host's timer ran the engine
}

export interface RpcHost {
  readonly id: string;
  /** The embind RpcNode or RpcEngine (bindings/rpc.cpp). */
  readonly engine: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** A unary method every instance serves (Node.Info on nodes): client and bidi streams probe
   *  with it to wait for discovery the way unary calls do. */
  readonly discoveryProbe?: string;
  attach(callbacks: RpcHostCallbacks): void;
  /** Runs `fn` against the engine, then lets the host send what it queued. */
  run<T>(fn: (nowMs: number) => T): T;
  now(): number;
  /** Sends a drained link message; false when the peer is unreachable (the engine was told). */
  send(peer: string, message: Uint8Array): boolean;
  /** The engine's next deadline after a drain (-1: none). */
  schedule(deadlineMs: number): void;
  /** Pending write-ahead records (the core's dedupe marks among them) that a request's handler
   *  must wait for: at-most-once across a restart. Undefined: run it now. */
  durable?(): Promise<void> | undefined;
  close(): void;
}

export function isHost(x: RpcLink | RpcHost): x is RpcHost {
  return typeof (x as RpcHost).attach === 'function' && typeof (x as RpcHost).run === 'function';
}

/** A bare engine over a link, with one timer at the engine's next deadline. */
export class LinkHost implements RpcHost {
  readonly engine: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  private readonly epoch = performance.now();
  private callbacks: RpcHostCallbacks | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt: number | undefined;
  private closed = false;

  constructor(private readonly link: RpcLink, options: RpcOptions) {
    this.engine = unwrap(getModule().rpcEngineCreate(link.id, options.seed ?? randomSafeInteger(), {
      window: options.window, retransmitMs: options.retransmitMs,
    }));
  }

  get id(): string {
    return this.link.id;
  }

  attach(callbacks: RpcHostCallbacks): void {
    this.callbacks = callbacks;
    this.link.onMessage((peer, bytes) => callbacks.receive(peer, bytes));
    this.link.onPeerDown?.((peer) => {
      if (this.closed) return;
      this.engine.peerDown(peer, this.now());
      callbacks.peerDown(peer);
    });
  }

  run<T>(fn: (nowMs: number) => T): T {
    if (this.closed) throw new NitroError('FAILED_PRECONDITION', 'rpc is closed');
    return fn(this.now());
  }

  now(): number {
    return Math.floor(performance.now() - this.epoch);
  }

  send(peer: string, message: Uint8Array): boolean {
    try {
      this.link.send(peer, message);
      return true;
    } catch {
      this.engine.peerDown(peer, this.now());
      return false;
    }
  }

  schedule(at: number): void {
    if (at < 0 || this.closed) return;
    if (this.timerAt !== undefined && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      if (this.closed) return;
      this.engine.tick(this.now());
      this.callbacks?.tick();
    }, Math.max(0, at - this.now()));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.engine.delete();
  }
}
