// RPC for JS hosts: handlers, unary calls, server/client/bidi streams, interceptors, discovery —
// an idiomatic API over the core's sans-IO RPC engine (core/include/nitro/rpc.h, bindings/rpc.cpp).
//
// The engine owns every protocol decision (call matching, deadlines, credits, dedupe, retries,
// load balancing); this layer only moves bytes between the engine and a link, runs one timer at
// the engine's next deadline, and turns engine events into promises and async iterables.
//
// A link is anything that can carry the "rpc" channel between peers (the node's secure links,
// a WebSocket, an in-process pipe). Its contract is small:
//   * `id`: this node's peer key, as the other side names it;
//   * `send(peer, bytes)`: deliver one frame to `peer` (may drop; must not reorder-then-duplicate
//     more than a network would — the engine copes with loss, duplication and reordering);
//     throwing means the peer is unreachable;
//   * `onMessage(receiver)`: the link calls `receiver(peer, bytes)` for every inbound frame;
//   * optionally `onPeerDown(listener)`: the link reports a peer it lost.
import { errorFor, NitroError } from './errors.js';
import type { ErrorCode } from './errors.js';
import { decode as decodeMsgpack, encode as encodeMsgpack, encodeInto, utf8String, Writer } from './msgpack.js';
import { getModule } from './wasm.js';
import { FrameBatcher, splitFrames } from './rpc-batch.js';
import { macrotask } from './host/transport.js';

export interface RpcLink {
  readonly id: string;
  send(peer: string, bytes: Uint8Array): void;
  onMessage(receiver: (peer: string, bytes: Uint8Array) => void): void;
  onPeerDown?(listener: (peer: string) => void): void;
}

export type StreamKind = 'unary' | 'server' | 'client' | 'bidi';
export type ContentType = 'msgpack' | 'json';
export type Strategy = 'round-robin' | 'random' | 'hash';
export type Metadata = Record<string, string>;

export interface CallOptions {
  /** Overall deadline; propagated to the handler as `ctx.deadline`. Default 30000. */
  timeoutMs?: number;
  /** Aborting cancels the call (and the handler's `ctx.signal` fires on the server). */
  signal?: AbortSignal;
  /** Further attempts on other instances; only honoured when `idempotent`. */
  retries?: number;
  idempotent?: boolean;
  /** Per-attempt timeout for idempotent retries (moves off a silent instance). */
  attemptTimeoutMs?: number;
  metadata?: Metadata;
  /** Call this peer directly instead of picking an instance of the service. */
  peer?: string;
  strategy?: Strategy;
  /** Consistent-hashing key (strategy 'hash'): calls with one key stick to one instance. */
  key?: string;
  contentType?: ContentType;
}

export interface HandlerContext {
  readonly peer: string;
  readonly service: string;
  readonly method: string;
  readonly metadata: Readonly<Metadata>;
  /** Wall-clock deadline (Date.now() scale), or undefined for none. */
  readonly deadline: number | undefined;
  /** Aborted when the caller cancels, the deadline passes or the caller's link goes down. */
  readonly signal: AbortSignal;
  /** Trailing metadata sent with the response. */
  readonly trailer: Metadata;
}

export interface ClientCallInfo {
  service: string;
  method: string;
  kind: StreamKind;
  request: unknown;
  metadata: Metadata;
  options: CallOptions;
}

/** Wraps a call: may change `call` (metadata, request), observe the result or throw. For
 *  streaming calls `next` resolves once the stream is open. */
export type ClientInterceptor = (call: ClientCallInfo, next: (call: ClientCallInfo) => Promise<unknown>) => Promise<unknown>;
/** Wraps a handler invocation (every kind): may reject, observe or replace the result. */
export type ServerInterceptor = (
  request: unknown, ctx: HandlerContext, next: (request: unknown, ctx: HandlerContext) => Promise<unknown>,
) => Promise<unknown>;

export interface RpcOptions {
  /** Service name this node answers to (callers use it as `service`). */
  name?: string;
  /** Stream window (messages in flight per direction). Default 16. */
  window?: number;
  /** Resend an unanswered request after this many ms (for lossy links); 0 = off. */
  retransmitMs?: number;
  /** Entropy for call ids and random load balancing; default: crypto.getRandomValues. */
  seed?: number;
  /** Inbound frames per engine step (default 16): the rest of a burst is worked through in later
   *  macrotasks, so answers to its first part leave while the rest is processed. */
  framesPerStep?: number;
}

export interface ClientStream<Res = unknown> {
  send(message: unknown): Promise<void>;
  /** Half-closes and resolves with the handler's single response. */
  end(): Promise<Res>;
  cancel(): void;
}

export interface BidiStream<Res = unknown> extends AsyncIterable<Res> {
  send(message: unknown): Promise<void>;
  /** Half-closes the sending side; responses keep arriving until the handler ends. */
  end(): Promise<void>;
  cancel(): void;
}

type Handler = (request: any, ctx: HandlerContext) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

interface EngineEvent {
  kind: 'request' | 'message' | 'halfClose' | 'done' | 'cancelled' | 'writable';
  handle: number;
  peer: string;
  streamKind: StreamKind;
  service?: string;
  method?: string;
  metadata?: Metadata;
  payload?: Uint8Array;
  contentType?: ContentType;
  deadlineAtMs?: number | null;
  code?: ErrorCode | 'OK';
  message?: string;
  details?: unknown;
  attempts?: number;
}

interface CallState {
  kind: StreamKind;
  contentType: ContentType;
  inbox?: Inbox;
  writable: Array<() => void>;
  ended: boolean;
  error?: NitroError;
  settle?: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
  controller?: AbortController;  // server calls
}

const textEncoder = new TextEncoder();
const HANDLE_BLOCK = 256;  // call handles reserved per crossing
const textDecoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

function isAsyncGeneratorFunction(fn: unknown): boolean {
  return Object.prototype.toString.call(fn) === '[object AsyncGeneratorFunction]';
}

function randomSeed(): number {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0] & 0x1fffff) * 2 ** 32 + words[1];  // 53 bits: exact as a double
}

/** An async queue of decoded stream messages; taking one grants the sender credit. */
class Inbox implements AsyncIterableIterator<unknown> {
  private items: unknown[] = [];
  private waiters: Array<{ resolve: (r: IteratorResult<unknown>) => void; reject: (e: unknown) => void }> = [];
  private ended = false;
  private error: unknown;

  constructor(private readonly onTake: () => void, private readonly onReturn: () => void) {}

  push(value: unknown): void {
    const w = this.waiters.shift();
    if (w) {
      this.onTake();
      w.resolve({ value, done: false });
    } else {
      this.items.push(value);
    }
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    for (const w of this.waiters.splice(0)) error ? w.reject(error) : w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.items.length) {
      this.onTake();
      return Promise.resolve({ value: this.items.shift(), done: false });
    }
    if (this.ended) return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<unknown>> {
    if (!this.ended) this.onReturn();
    this.end();
    this.items.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }
}

const CODES = new Set<string>([
  'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED', 'DECODE_ERROR',
]);
const MESSAGE_CHARS_MAX = 1000;  // the wire allows 4096 bytes of UTF-8

// A handler's exception as a wire error: a NitroError (or anything with a known `code`) keeps its
// code; anything else is UNKNOWN with the exception's message.
function wireError(err: unknown): { code: ErrorCode; message: string; details: unknown } {
  const e = err as { code?: unknown; message?: unknown; details?: unknown } | undefined;
  const code = typeof e?.code === 'string' && CODES.has(e.code) ? (e.code as ErrorCode) : 'UNKNOWN';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return { code, message: message.slice(0, MESSAGE_CHARS_MAX), details: e?.details };
}

export class Rpc {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly engine: any;
  private readonly calls = new Map<number, CallState>();
  private readonly handlers = new Map<string, { kind: StreamKind; fn: Handler }>();
  private readonly services = new Set<string>();
  private readonly clientInterceptors: ClientInterceptor[] = [];
  private readonly serverInterceptors: ServerInterceptor[] = [];
  private readonly epoch = performance.now();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt: number | undefined;
  private flushing = false;
  private flushQueued = false;
  private readonly inbound = new InboundQueue();
  private inboundFrames = 0;  // frames in `inbound`
  private readonly backlog: Array<[string, Uint8Array]> = [];
  private backlogQueued = false;
  private readonly framesPerStep: number;
  private nextHandle = 0;
  private handlesLeft = 0;
  private again = false;
  private closed = false;

  constructor(private readonly link: RpcLink, options: RpcOptions = {}) {
    const { RpcEngine } = getModule();
    this.engine = new RpcEngine(link.id, options.seed ?? randomSeed(), {
      window: options.window, retransmitMs: options.retransmitMs,
    });
    this.framesPerStep = Math.max(1, options.framesPerStep ?? kFramesPerStepDefault);
    if (options.name) this.serve(options.name);
    link.onMessage((peer, bytes) => this.receive(peer, bytes));
    link.onPeerDown?.((peer) => {
      if (this.closed) return;
      this.engine.peerDown(peer, this.now());
      this.flush();
    });
  }

  get id(): string {
    return this.link.id;
  }

  /** Answer to calls addressed to `service` (the node's name is served by default). */
  serve(service: string): void {
    this.services.add(service);
    this.engine.serve(service);
  }

  /** Registers a handler. An async generator function streams what it yields (server
   *  streaming); `{ kind: 'client' | 'bidi' }` handlers receive an async iterable of requests. */
  handle(method: string, handler: Handler, options: { kind?: StreamKind } = {}): () => void {
    const kind = options.kind ?? (isAsyncGeneratorFunction(handler) ? 'server' : 'unary');
    this.check(this.engine.registerMethod(method, kind));
    this.handlers.set(method, { kind, fn: handler });
    return () => {
      this.engine.unregisterMethod(method);
      this.handlers.delete(method);
    };
  }

  /** The methods this node handles, sorted. */
  methods(): string[] {
    return [...this.handlers.keys()].sort();
  }

  use(interceptors: { client?: ClientInterceptor; server?: ServerInterceptor }): void {
    if (interceptors.client) this.clientInterceptors.push(interceptors.client);
    if (interceptors.server) this.serverInterceptors.push(interceptors.server);
  }

  /** Unary call. Rejects with a NitroError subclass carrying a stable `code`. */
  call<Res = unknown>(service: string, method: string, request: unknown, options: CallOptions = {}): Promise<Res> {
    const info = this.info(service, method, 'unary', request, options);
    return this.intercept(info, (i) => this.open(i).result) as Promise<Res>;
  }

  /** Server streaming: iterate the handler's messages with `for await`; breaking out cancels. */
  stream<Res = unknown>(service: string, method: string, request: unknown, options: CallOptions = {}): AsyncIterable<Res> {
    const opened = this.openIntercepted(this.info(service, method, 'server', request, options));
    return { [Symbol.asyncIterator]: () => lazyIterator(opened) } as AsyncIterable<Res>;
  }

  /** Client streaming: send messages, then `end()` resolves with the single response. */
  clientStream<Res = unknown>(service: string, method: string, options: CallOptions = {}): ClientStream<Res> {
    const opened = this.openIntercepted(this.info(service, method, 'client', undefined, options));
    return {
      send: async (message) => this.sendMessage(await opened, message),
      end: async () => {
        const c = await opened;
        this.endStream(c.handle);
        return c.result as Promise<Res>;
      },
      cancel: () => void opened.then((c) => this.cancelCall(c.handle), () => undefined),
    };
  }

  /** Bidirectional streaming. */
  bidi<Res = unknown>(service: string, method: string, options: CallOptions = {}): BidiStream<Res> {
    const opened = this.openIntercepted(this.info(service, method, 'bidi', undefined, options));
    opened.then((c) => c.result.catch(() => undefined), () => undefined);
    return {
      send: async (message) => this.sendMessage(await opened, message),
      end: async () => this.endStream((await opened).handle),
      cancel: () => void opened.then((c) => this.cancelCall(c.handle), () => undefined),
      [Symbol.asyncIterator]: () => lazyIterator(opened) as AsyncIterator<Res>,
    };
  }

  /** Discovery: instances of services, static (ttlMs 0) or from advertisements with a TTL. */
  readonly registry = {
    add: (service: string, peer: string, options: { ttlMs?: number; metadata?: Metadata } = {}): void => {
      this.check(this.engine.registryUpsert(service, peer, options.metadata ?? {}, options.ttlMs ?? 0, this.now()));
    },
    remove: (service: string, peer: string): void => this.engine.registryRemove(service, peer),
    instances: (service: string): Array<{ peer: string; metadata: Metadata; expiresAtMs: number | null }> =>
      this.engine.registryInstances(service, this.now()),
    /** How many live instances `service` has (cheaper than instances()). */
    count: (service: string): number => this.engine.registryCount(service, this.now()),
  };

  /** This node's advertisement (the services it serves), for the gossip layer to spread. */
  advertisement(ttlMs: number): Uint8Array {
    return getModule().rpcEncodeAdvertisement(this.link.id, [...this.services], ttlMs);
  }

  /** Feeds an advertisement into the registry; with `origin` (its verified publisher), an ad for
   *  another peer is refused with PERMISSION_DENIED. */
  applyAdvertisement(bytes: Uint8Array, origin = ''): void {
    this.check(this.engine.applyAdvertisement(bytes, origin, this.now()));
  }

  get activeCalls(): number {
    return this.engine.activeCalls();
  }

  /** Cancels every call and stops the timer. */
  close(): void {
    if (this.closed) return;
    for (const [handle, state] of this.calls) {
      if (!state.ended) this.inbound.cancel(handle);
    }
    this.drainNow();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.engine.delete();
  }

  // ------------------------------------------------------------------------------ internals

  private now(): number {
    return Math.floor(performance.now() - this.epoch);
  }

  private check(err: { code: ErrorCode; message: string } | null): void {
    if (err) throw errorFor(err.code, err.message);
  }

  private info(service: string, method: string, kind: StreamKind, request: unknown, options: CallOptions): ClientCallInfo {
    return { service, method, kind, request, metadata: { ...(options.metadata ?? {}) }, options };
  }

  private intercept(info: ClientCallInfo, last: (i: ClientCallInfo) => Promise<unknown>): Promise<unknown> {
    const chain = this.clientInterceptors.reduceRight<(i: ClientCallInfo) => Promise<unknown>>(
      (next, interceptor) => (i) => interceptor(i, next), last);
    try {
      return chain(info);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private openIntercepted(info: ClientCallInfo): Promise<OpenCall> {
    let opened: OpenCall | undefined;
    const p = this.intercept(info, async (i) => (opened = this.open(i))).then(() => {
      if (!opened) throw new NitroError('FAILED_PRECONDITION', 'a client interceptor did not call next()');
      return opened;
    });
    p.catch(() => undefined);  // surfaced by the stream's own methods
    return p;
  }

  private encode(value: unknown, contentType: ContentType): Uint8Array {
    if (contentType === 'json') return textEncoder.encode(JSON.stringify(value ?? null));
    return encodeMsgpack(value);
  }

  private decode(bytes: Uint8Array | undefined, contentType: ContentType): unknown {
    if (!bytes || bytes.length === 0) return undefined;
    if (contentType === 'json') return JSON.parse(textDecoder.decode(bytes));
    return decodeMsgpack(bytes);
  }

  // Starts a call (synchronously: throws on a bad request). A unary start is queued for the next
  // step() crossing, its msgpack request encoded straight into the queue; a failure to start comes
  // back as the call's `done` event and rejects `result` like any other outcome. Streams start at
  // once: their send/end calls need the engine to know the call.
  private open(info: ClientCallInfo): OpenCall {
    const o = info.options;
    const contentType = o.contentType ?? 'msgpack';
    if (o.signal?.aborted) throw new NitroError('CANCELLED', 'the call was aborted before it started');
    const metadata = packMetadata(info.metadata);
    let handle: number;
    if (info.kind === 'unary') {
      handle = this.reserveHandle();
      this.inbound.start(handle, info, metadata, contentType === 'json' ? this.encode(info.request, contentType) : null);
    } else {
      const payload = info.kind === 'server' ? this.encode(info.request, contentType) : EMPTY;
      const h = this.engine.startCall(o.peer ?? '', info.service, info.method, metadata, payload, contentType === 'json' ? 1 : 0,
        STREAM_KINDS.indexOf(info.kind), o.timeoutMs ?? 30000, o.attemptTimeoutMs ?? 0, o.idempotent ?? false,
        o.retries ?? 0, STRATEGIES.indexOf(o.strategy ?? 'round-robin'), o.key ?? '', this.now());
      if (typeof h !== 'number') throw errorFor(h.code, h.message);
      handle = h;
    }
    const state: CallState = { kind: info.kind, contentType, writable: [], ended: false };
    const result = new Promise<unknown>((resolve, reject) => (state.settle = { resolve, reject }));
    result.catch(() => undefined);  // stream errors surface through the iterator or end()
    if (info.kind === 'server' || info.kind === 'bidi') {
      state.inbox = new Inbox(() => this.consumed(handle), () => this.cancelCall(handle));
    }
    this.calls.set(handle, state);
    if (o.signal) {
      const onAbort = () => this.cancelCall(handle);
      o.signal.addEventListener('abort', onAbort, { once: true });
      result.finally(() => o.signal!.removeEventListener('abort', onAbort)).catch(() => undefined);
    }
    this.flush();
    return { handle, state, result };
  }

  private reserveHandle(): number {
    if (this.handlesLeft === 0) {
      this.nextHandle = this.engine.reserveHandles(HANDLE_BLOCK);
      this.handlesLeft = HANDLE_BLOCK;
    }
    this.handlesLeft--;
    return this.nextHandle++;
  }

  private consumed(handle: number): void {
    if (this.closed || !this.calls.has(handle)) return;
    this.engine.consumed(handle, 1, this.now());
    this.flush();
  }

  // Queued like starts, so a cancel never overtakes the start of its own call.
  private cancelCall(handle: number): void {
    const state = this.calls.get(handle);
    if (this.closed || !state || state.ended) return;
    this.inbound.cancel(handle);
    this.flush();
  }

  private endStream(handle: number): void {
    const state = this.calls.get(handle);
    if (!state || state.ended) return;
    this.check(this.engine.endStream(handle, this.now()));
    this.flush();
  }

  private async sendMessage(c: OpenCall, message: unknown): Promise<void> {
    await this.sendBytes(c.handle, c.state, this.encode(message, c.state.contentType));
  }

  // Sends one stream message, waiting for credit (kWritable) when the peer's window is full.
  private async sendBytes(handle: number, state: CallState, bytes: Uint8Array): Promise<void> {
    for (;;) {
      if (state.ended) throw state.error ?? new NitroError('CANCELLED', 'the call has ended');
      const err = this.engine.send(handle, bytes, this.now());
      if (err === null) {
        this.flush();
        return;
      }
      if (err.code !== 'RESOURCE_EXHAUSTED') throw errorFor(err.code, err.message);
      await new Promise<void>((resolve) => state.writable.push(resolve));
    }
  }

  // Inbound frames wait for the next drain and cross into the engine together with it, at most
  // `framesPerStep` per drain: the rest of a burst waits in the backlog for later macrotasks, so
  // the answers to its first part leave (and the peer starts on them) while we work on the rest —
  // two processes pipeline instead of taking turns on whole bursts.
  private receive(peer: string, bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.backlog.length > 0 || this.inboundFrames >= this.framesPerStep) {
      if (this.backlog.length < kBacklogFramesMax) this.backlog.push([peer, bytes]);  // beyond: lost, retransmitted
      this.scheduleBacklog();
      return;
    }
    this.inbound.push(peer, bytes);
    this.inboundFrames++;
    this.flush();
  }

  private scheduleBacklog(): void {
    if (this.backlogQueued) return;
    this.backlogQueued = true;
    macrotask(() => {
      this.backlogQueued = false;
      if (this.closed) return;
      const n = Math.max(0, Math.min(this.framesPerStep - this.inboundFrames, this.backlog.length));
      for (const [peer, bytes] of this.backlog.splice(0, n)) this.inbound.push(peer, bytes);
      this.inboundFrames += n;
      this.drainNow();
      if (this.backlog.length > 0) this.scheduleBacklog();
    });
  }

  // Asks for a drain on a microtask: inputs arriving together (one socket read, a burst of calls)
  // share one boundary crossing.
  private flush(): void {
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.drainNow();
    });
  }

  // Drains the engine: frames to the link, events to their calls. Engine calls made while
  // dispatching queue their own flush.
  private drainNow(): void {
    if (this.closed) return;
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = true;
    let deadline = -1;
    try {
      do {
        this.again = false;
        const r = new BatchReader(this.inbound.empty() ? this.engine.drain().slice() : this.step());
        deadline = r.f64();
        if (!r.done()) this.consume(r);  // sets `again` when a send failed (peerDown queued output)
      } while (this.again);
    } finally {
      this.flushing = false;
    }
    this.schedule(deadline);
  }

  // One crossing for everything queued: the input is copied straight into the engine's buffer,
  // the output batch copied out once (both views into wasm memory, valid until the next call).
  private step(): Uint8Array {
    this.inboundFrames = 0;
    const input = this.inbound.take();
    this.engine.inputView(input.length).set(input);
    return this.engine.step(input.length, this.now()).slice();
  }

  private consume(r: BatchReader): void {
    const events: EngineEvent[] = [];
    while (!r.done()) {
      if (r.u8() === 1) {
        const peer = r.str();
        const bytes = r.bin();
        try {
          this.link.send(peer, bytes);
        } catch {
          this.engine.peerDown(peer, this.now());
          this.again = true;
        }
      } else {
        events.push(r.event());
      }
    }
    for (const e of events) this.dispatch(e);
  }

  private schedule(at: number): void {
    if (at < 0) return;
    if (this.timerAt !== undefined && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      if (this.closed) return;
      this.engine.tick(this.now());
      this.drainNow();
    }, Math.max(0, at - this.now()));
  }

  private dispatch(e: EngineEvent): void {
    if (e.kind === 'request') return this.onRequest(e);
    const state = this.calls.get(e.handle);
    if (!state) return;
    switch (e.kind) {
      case 'message':
        state.inbox?.push(this.decode(e.payload, state.contentType));
        break;
      case 'halfClose':
        state.inbox?.end();
        break;
      case 'writable':
        for (const wake of state.writable.splice(0)) wake();
        break;
      case 'done':
        this.onDone(e, state);
        break;
      case 'cancelled':
        this.onCancelled(e, state);
        break;
    }
  }

  private onDone(e: EngineEvent, state: CallState): void {
    this.calls.delete(e.handle);
    state.ended = true;
    if (e.code === 'OK') {
      state.inbox?.end();
      const carriesResponse = state.kind === 'unary' || state.kind === 'client';
      try {
        state.settle?.resolve(carriesResponse ? this.decode(e.payload, state.contentType) : undefined);
      } catch (err) {
        state.settle?.reject(err);
      }
    } else {
      const err = errorFor(e.code as ErrorCode, e.message ?? '', e.details ?? undefined);
      (err as NitroError & { metadata?: Metadata }).metadata = e.metadata;
      state.error = err;
      state.inbox?.end(err);
      state.settle?.reject(err);
    }
    for (const wake of state.writable.splice(0)) wake();
  }

  private onCancelled(e: EngineEvent, state: CallState): void {
    this.calls.delete(e.handle);
    state.ended = true;
    state.error = errorFor(e.code as ErrorCode, e.message ?? '');
    state.controller?.abort(state.error);
    state.inbox?.end(state.error);
    for (const wake of state.writable.splice(0)) wake();
  }

  private onRequest(e: EngineEvent): void {
    const h = this.handlers.get(e.method!);
    const contentType = e.contentType ?? 'msgpack';
    const state: CallState = { kind: e.streamKind, contentType, writable: [], ended: false };
    if (e.streamKind === 'client' || e.streamKind === 'bidi') {
      state.inbox = new Inbox(() => this.consumed(e.handle), () => undefined);
    }
    this.calls.set(e.handle, state);
    const deadline = e.deadlineAtMs == null ? undefined : Date.now() + (e.deadlineAtMs - this.now());
    const ctx = new ServerContext(e, deadline, state);
    void this.runHandler(e.handle, h, ctx, state, e.payload);
  }

  private async runHandler(handle: number, h: { kind: StreamKind; fn: Handler } | undefined, ctx: HandlerContext,
                           state: CallState, payload: Uint8Array | undefined): Promise<void> {
    try {
      if (!h) throw new NitroError('UNIMPLEMENTED', `no handler for ${ctx.method}`);
      const input = state.inbox ?? this.decode(payload, state.contentType);
      const chain = this.serverInterceptors.reduceRight<(r: unknown, c: HandlerContext) => Promise<unknown>>(
        (next, interceptor) => (r, c) => interceptor(r, c, next), async (r, c) => h.fn(r, c));
      const result = await chain(input, ctx);
      if (state.kind === 'server' || state.kind === 'bidi') {
        for await (const item of result as AsyncIterable<unknown>) {
          if (state.ended) break;
          await this.sendBytes(handle, state, this.encode(item, state.contentType));
        }
        this.respond(handle, state, 'OK', '', EMPTY, ctx.trailer, undefined);
      } else {
        this.respond(handle, state, 'OK', '', this.encode(result, state.contentType), ctx.trailer, undefined);
      }
    } catch (err) {
      const w = wireError(err);
      this.respond(handle, state, w.code, w.message, EMPTY, ctx.trailer, w.details);
    }
  }

  private respond(handle: number, state: CallState, code: ErrorCode | 'OK', message: string, payload: Uint8Array,
                  trailer: Metadata, details: unknown): void {
    if (state.ended || this.closed) return;  // cancelled or timed out: nobody is waiting
    state.ended = true;
    this.calls.delete(handle);
    // Queued: it crosses into the engine with the next step(), together with inbound frames.
    let detailBytes = EMPTY;
    try {
      if (details !== undefined) detailBytes = encodeMsgpack(details);
    } catch {
      // details outside the data model are dropped; the code and message still go out
    }
    let packed = '';
    try {
      packed = packMetadata(trailer);
    } catch {
      // a trailer with NUL bytes is dropped
    }
    this.inbound.respond(handle, code, message, payload, packed, detailBytes);
    this.flush();
  }
}

const kFramesPerStepDefault = 16;
const kBacklogFramesMax = 1 << 16;

const STRATEGIES: Strategy[] = ['random', 'round-robin', 'hash'];  // the core's Strategy values

// "k\0v\0k\0v": one string across the boundary (see bindings/rpc.cpp).
function packMetadata(md: Metadata): string {
  let out = '';
  for (const key in md) {
    const value = String(md[key]);
    if (key.includes('\0') || value.includes('\0')) throw new NitroError('INVALID_ARGUMENT', 'metadata may not contain NUL');
    out += (out ? '\0' : '') + key + '\0' + value;
  }
  return out;
}

/** A handler's context; the AbortController behind `signal` is made on first use (most handlers
 *  never look at it). */
class ServerContext implements HandlerContext {
  readonly peer: string;
  readonly service: string;
  readonly method: string;
  readonly metadata: Readonly<Metadata>;
  readonly trailer: Metadata = {};

  constructor(e: EngineEvent, readonly deadline: number | undefined, private readonly state: CallState) {
    this.peer = e.peer;
    this.service = e.service ?? '';
    this.method = e.method ?? '';
    this.metadata = e.metadata ?? {};
  }

  get signal(): AbortSignal {
    if (!this.state.controller) {
      this.state.controller = new AbortController();
      if (this.state.error) this.state.controller.abort(this.state.error);
    }
    return this.state.controller.signal;
  }
}

/** Input for the engine's next step() (layout in bindings/rpc.cpp): frames received and handler
 *  responses since the last drain, so they cross into wasm together. */
class InboundQueue extends Writer {
  constructor() {
    super(4096);
  }

  empty(): boolean {
    return this.pos === 0;
  }
  push(peer: string, frame: Uint8Array): void {
    this.ensure(1);
    this.buf[this.pos++] = 1;
    this.str(peer);
    this.bin(frame);
  }
  respond(handle: number, code: string, message: string, payload: Uint8Array, trailer: string, details: Uint8Array): void {
    this.ensure(9 + payload.length + details.length);
    this.buf[this.pos++] = 2;
    this.f64(handle);
    this.str(code);
    this.str(message);
    this.bin(payload);
    this.str(trailer);
    this.bin(details);
  }
  // A unary call start: a JSON request comes encoded, a msgpack one is encoded in place. Throws with the
  // queue unchanged when it cannot be encoded.
  start(handle: number, info: ClientCallInfo, metadata: string, jsonPayload: Uint8Array | null): void {
    const o = info.options;
    const start = this.pos;
    this.ensure(9);
    this.buf[this.pos++] = 3;
    this.f64(handle);
    this.str(o.peer ?? '');
    this.str(info.service);
    this.str(info.method);
    this.str(metadata);
    if (jsonPayload) {
      this.bin(jsonPayload);
    } else {
      this.ensure(4);
      const lengthAt = this.pos;
      this.pos += 4;
      try {
        encodeInto(this, info.request);
      } catch (err) {
        this.pos = start;
        throw err;
      }
      this.view.setUint32(lengthAt, this.pos - lengthAt - 4, true);
    }
    this.ensure(32);
    this.buf[this.pos++] = jsonPayload ? 1 : 0;  // content type
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
    this.ensure(9);
    this.buf[this.pos++] = 4;
    this.f64(handle);
  }
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.pos = 0;
    return out;  // copied by the engine call before the next push
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

const EVENT_KINDS: EngineEvent['kind'][] = ['request', 'message', 'halfClose', 'done', 'cancelled', 'writable'];
const STREAM_KINDS: StreamKind[] = ['unary', 'server', 'client', 'bidi'];

/** Reads RpcEngine.drain() batches (layout in bindings/rpc.cpp). Byte fields are views into
 *  the batch, which is a fresh copy owned by JS. */
class BatchReader {
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
  md(): Metadata {
    const m: Metadata = {};
    for (let n = this.u32(); n > 0; n--) {
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
      e.contentType = this.u8() === 1 ? 'json' : 'msgpack';
      const deadline = this.f64();
      e.deadlineAtMs = deadline < 0 ? null : deadline;
    } else if (kind === 'message') {
      e.payload = this.bin();
    } else if (kind === 'done') {
      e.code = this.str() as ErrorCode | 'OK';
      e.message = this.str();
      e.payload = this.bin();
      e.metadata = this.md();
      const details = this.bin();
      e.details = details.length ? decodeMsgpack(details) : undefined;
      e.attempts = this.u32();
    } else if (kind === 'cancelled') {
      e.code = this.str() as ErrorCode;
      e.message = this.str();
    }
    return e;
  }
}

interface OpenCall {
  handle: number;
  state: CallState;
  result: Promise<unknown>;
}

function lazyIterator(opened: Promise<OpenCall>): AsyncIterator<unknown> {
  let inbox: Inbox | undefined;
  const get = async () => (inbox ??= (await opened).state.inbox!);
  return {
    next: async () => (await get()).next(),
    return: async () => {
      const c = await opened.catch(() => undefined);
      return c ? c.state.inbox!.return() : { value: undefined, done: true };
    },
  };
}

/** Links between peers in one process (tests, single-process apps). Frames are delivered on a
 *  later microtask, as a network would, never synchronously inside `send`. */
export class MemoryNetwork {
  private readonly receivers = new Map<string, (peer: string, bytes: Uint8Array) => void>();
  private readonly downListeners = new Map<string, (peer: string) => void>();

  link(id: string): RpcLink {
    const net = this;
    return {
      id,
      send(peer, bytes) {
        const receiver = net.receivers.get(peer);
        if (!receiver || !net.receivers.has(id)) throw new NitroError('UNAVAILABLE', `no link from ${id} to ${peer}`);
        const copy = bytes.slice();
        queueMicrotask(() => net.receivers.get(peer) === receiver && receiver(id, copy));
      },
      onMessage(receiver) {
        net.receivers.set(id, receiver);
      },
      onPeerDown(listener) {
        net.downListeners.set(id, listener);
      },
    };
  }

  /** Takes `id` off the network: every other peer is told it went down. */
  down(id: string): void {
    this.receivers.delete(id);
    for (const [other, listener] of this.downListeners) if (other !== id) listener(id);
  }
}

/** What SocketLink needs of a socket: the `ws` package's WebSocket and browsers' WebSocket fit. */
export interface SocketLike {
  send(data: Uint8Array | string): void;
  close(): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'open' | 'close', listener: () => void): void;
  readonly readyState: number;  // 0 connecting, 1 open
  binaryType?: string;
}

function bytesOf(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** An RpcLink over message sockets (WebSocket between processes or hosts). The frames for one
 *  peer within a microtask travel as one binary message (rpc-batch.ts). Each side first sends its
 *  id as one text message (the hello); frames that arrive before the peer's hello are ignored,
 *  and a malformed batch closes the socket. No authentication or encryption: the node's
 *  secure links provide those; this link is for tests, benchmarks and trusted networks. */
export class SocketLink implements RpcLink {
  private readonly sockets = new Map<string, SocketLike>();
  private receiver: (peer: string, bytes: Uint8Array) => void = () => undefined;
  private downListener: (peer: string) => void = () => undefined;
  private readonly batcher = new FrameBatcher(
    (peer, message) => this.sockets.get(peer)?.send(message.slice()),  // the socket may queue it
    (peer) => this.sockets.get(peer)?.close());

  constructor(readonly id: string) {}

  /** Adopts a socket, connecting or open; resolves with the peer's id once its hello arrives.
   *  Call it right after creating the socket: a hello that arrives before then is missed. */
  add(socket: SocketLike): Promise<string> {
    if (socket.binaryType !== undefined && socket.binaryType !== 'nodebuffer') socket.binaryType = 'arraybuffer';
    return new Promise((resolve, reject) => {
      let peer: string | undefined;
      socket.addEventListener('message', (event) => {
        if (peer === undefined) {
          if (typeof event.data !== 'string' || event.data.length === 0) return;
          peer = event.data;
          this.sockets.get(peer)?.close();
          this.sockets.set(peer, socket);
          resolve(peer);
          return;
        }
        const bytes = bytesOf(event.data);
        if (!bytes) return;
        try {
          splitFrames(bytes, (frame) => this.receiver(peer!, frame));
        } catch {
          socket.close();
        }
      });
      socket.addEventListener('close', () => {
        if (peer === undefined) return reject(new NitroError('UNAVAILABLE', 'socket closed before the hello'));
        if (this.sockets.get(peer) !== socket) return;
        this.sockets.delete(peer);
        this.batcher.forget(peer);
        this.downListener(peer);
      });
      if (socket.readyState === 0) socket.addEventListener('open', () => socket.send(this.id));
      else socket.send(this.id);
    });
  }

  send(peer: string, bytes: Uint8Array): void {
    const socket = this.sockets.get(peer);
    if (!socket) throw new NitroError('UNAVAILABLE', `no socket to ${peer}`);
    this.batcher.push(peer, bytes);
  }

  onMessage(receiver: (peer: string, bytes: Uint8Array) => void): void {
    this.receiver = receiver;
  }

  onPeerDown(listener: (peer: string) => void): void {
    this.downListener = listener;
  }

  close(): void {
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }
}
