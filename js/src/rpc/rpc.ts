// The JS API of RPC over the core's composition: handlers, unary calls, server/client/bidi streams,
// interceptors, discovery — promises and async iterables over the sans-IO engine.
//
// Every protocol decision (call matching, deadlines, credits, dedupe, retries, balancing, discovery
// waits, ads, write coalescing) is the core's (core/include/nitro/rpc_node.h, rpc.h). This layer
// queues input for one step() crossing per microtask, turns the drained events into promises and
// async iterables, runs handlers, and plumbs AbortSignal and NitroError. On a node it arms no timer:
// the node's one timer from next_deadline() drives the composition (js/src/host/node.ts).
import { errorFor, NitroError, unwrap } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { decode as decodeMsgpack, encode as encodeMsgpack } from '../msgpack.js';
import { TOKEN_METADATA_KEY, tokenRef } from '../auth.js';
import { macrotask } from '../host/transport.js';
import { BatchReader, CONTENT_TYPES, InboundQueue, packMetadata, STRATEGIES, STREAM_KINDS } from './batch.js';
import { Inbox, lazyIterator, type CallState, type OpenCall } from './inbox.js';
import { isHost, LinkHost, type RpcHost } from './host.js';
import type {
  BidiStream, CallOptions, ClientCallInfo, ClientInterceptor, ClientStream, ContentType, EngineEvent, Handler,
  HandlerContext, Metadata, RpcLink, RpcOptions, ServerInterceptor, StreamKind,
} from './types.js';

const textEncoder = new TextEncoder();
const HANDLE_BLOCK = 256;  // call handles reserved per crossing
const textDecoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const NO_METADATA: Metadata = Object.freeze({});
const kFramesPerStepDefault = 16;
// Queued records (call starts, responses, inbound messages) per engine step: by default all. A
// step's frames leave at once as one link message; a burst split in several steps reaches the peer
// in parts, so on idle cores the peer works on the first part while this process prepares the rest.
// On a loaded machine every extra message costs a wake-up of the peer (measured: 16 per step cost
// ~40% more CPU per call at load average 20), hence no split by default.
const kRecordsPerStepDefault = Number.MAX_SAFE_INTEGER;
const kBacklogFramesMax = 1 << 16;
/** A client or bidi stream to an undiscovered service waits at most this long for it (as a call does). */
const kDiscoveryProbeMsMax = 2000;

function isAsyncGeneratorFunction(fn: unknown): boolean {
  return Object.prototype.toString.call(fn) === '[object AsyncGeneratorFunction]';
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
  private readonly host: RpcHost;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly engine: any;
  private readonly calls = new Map<number, CallState>();
  private readonly handlers = new Map<string, { kind: StreamKind; fn: Handler }>();
  private readonly services = new Set<string>();
  private readonly clientInterceptors: ClientInterceptor[] = [];
  private readonly serverInterceptors: ServerInterceptor[] = [];
  private flushing = false;
  private flushQueued = false;
  private readonly inbound = new InboundQueue();
  private inboundFrames = 0;  // frames in `inbound`
  private readonly backlog: Array<[string, Uint8Array]> = [];
  private backlogQueued = false;
  private readonly framesPerStep: number;
  private readonly recordsPerStep: number;
  private nextHandle = 0;
  private handlesLeft = 0;
  private again = false;
  private closed = false;

  /** RPC over `link` (no node: tests, trusted networks), or on a node's RPC composition (attachRpc). */
  constructor(link: RpcLink | RpcHost, options: RpcOptions = {}) {
    this.host = isHost(link) ? link : new LinkHost(link, options);
    this.engine = this.host.engine;
    this.framesPerStep = Math.max(1, options.framesPerStep ?? kFramesPerStepDefault);
    this.recordsPerStep = Math.max(1, options.recordsPerStep ?? kRecordsPerStepDefault);
    if (options.name) this.serve(options.name);
    this.host.attach({
      receive: (peer, bytes) => this.receive(peer, bytes),
      peerDown: () => this.flush(),
      events: (batch) => this.onEvents(batch),
      tick: () => this.drainNow(),
    });
  }

  get id(): string {
    return this.host.id;
  }

  /** Answer to calls addressed to `service` (the node's name is served by default). */
  serve(service: string): void {
    this.services.add(service);
    this.host.run(() => this.engine.serve(service));
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
    if (this.clientInterceptors.length === 0 && options.authToken === undefined) {
      // Nothing can see or change the call on its way: no metadata copy, no interceptor chain.
      const info = { service, method, kind: 'unary' as const, request, metadata: options.metadata ?? NO_METADATA, options };
      try {
        return this.open(info).result as Promise<Res>;
      } catch (err) {
        return Promise.reject(err);
      }
    }
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
    /** Names of the services with a live instance, sorted. */
    services: (): string[] => this.engine.registryServices(this.now()),
  };

  /** RPC over a link: this side's advertisement (the services it serves), for a host to spread.
   *  (A node advertises by itself.) */
  advertisement(ttlMs: number): Uint8Array {
    return unwrap<Uint8Array>(this.hostEngineOnly('advertisement').advertisement(ttlMs));
  }

  /** RPC over a link: feeds an advertisement into the registry; with `origin` (its verified
   *  publisher), an ad for another peer is refused with PERMISSION_DENIED. */
  applyAdvertisement(bytes: Uint8Array, origin = ''): void {
    this.check(this.hostEngineOnly('applyAdvertisement').applyAdvertisement(bytes, origin, this.now()));
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
    this.host.close();
  }

  // ------------------------------------------------------------------------------ internals

  private now(): number {
    return this.host.now();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private hostEngineOnly(what: string): any {
    if (this.host instanceof LinkHost) return this.engine;
    throw new NitroError('FAILED_PRECONDITION', `${what}: a node advertises its services itself`);
  }

  private check(err: { code: ErrorCode; message: string } | null): void {
    if (err) throw errorFor(err.code, err.message);
  }

  private info(service: string, method: string, kind: StreamKind, request: unknown, options: CallOptions): ClientCallInfo {
    const metadata = { ...(options.metadata ?? {}) };
    if (options.authToken !== undefined) metadata[TOKEN_METADATA_KEY] = tokenRef(options.authToken);
    return { service, method, kind, request, metadata, options };
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
    const p = this.discover(info).then(() => this.intercept(info, async (i) => (opened = this.open(i)))).then(() => {
      if (!opened) throw new NitroError('FAILED_PRECONDITION', 'a client interceptor did not call next()');
      return opened;
    });
    p.catch(() => undefined);  // surfaced by the stream's own methods
    return p;
  }

  // The core holds unary and server-stream calls until their service is discovered, but starts
  // client and bidi streams at once (they are written to right after the start): for those, a
  // unary probe of a method every instance serves waits in the core's discovery first, so all
  // four kinds discover services alike. Not for calls to a given peer or to a known service.
  private async discover(info: ClientCallInfo): Promise<void> {
    const probe = this.host.discoveryProbe;
    if (!probe || info.options.peer || (info.kind !== 'client' && info.kind !== 'bidi')) return;
    if (this.engine.registryCount(info.service, this.now()) > 0) return;
    const timeoutMs = Math.min(info.options.timeoutMs ?? 30000, kDiscoveryProbeMsMax);
    const call = this.open(this.info(info.service, probe, 'unary', {}, { timeoutMs, signal: info.options.signal }));
    await call.result.catch(() => undefined);  // the stream itself reports what went wrong
  }

  private encode(value: unknown, contentType: ContentType): Uint8Array {
    if (contentType === 'json') return textEncoder.encode(JSON.stringify(value ?? null));
    if (contentType === 'protobuf') {
      if (!(value instanceof Uint8Array)) throw new NitroError('INVALID_ARGUMENT', "a 'protobuf' payload is an encoded message (Uint8Array)");
      return value;
    }
    return encodeMsgpack(value);
  }

  private decode(bytes: Uint8Array | undefined, contentType: ContentType): unknown {
    if (!bytes || bytes.length === 0) return contentType === 'protobuf' && bytes ? new Uint8Array(0) : undefined;
    if (contentType === 'json') return JSON.parse(textDecoder.decode(bytes));
    if (contentType === 'protobuf') return bytes.slice();  // the message's own copy
    return decodeMsgpack(bytes);
  }

  // Starts a call (synchronously: throws on a bad request). A unary start is queued for the next
  // step() crossing, its msgpack request encoded straight into the queue; a failure to start comes
  // back as the call's `done` event and rejects `result` like any other outcome. Streams start at
  // once: their send/end calls need the engine to know the call.
  private open(info: ClientCallInfo): OpenCall {
    const o = info.options;
    const contentType = o.contentType ?? 'msgpack';
    if (!CONTENT_TYPES.includes(contentType)) throw new NitroError('INVALID_ARGUMENT', `contentType is one of ${CONTENT_TYPES.join(', ')}`);
    if (o.signal?.aborted) throw new NitroError('CANCELLED', 'the call was aborted before it started');
    const metadata = packMetadata(info.metadata);
    let handle: number;
    if (info.kind === 'unary') {
      handle = this.reserveHandle();
      this.inbound.start(handle, info, metadata, contentType, contentType === 'msgpack' ? null : this.encode(info.request, contentType));
    } else {
      const payload = info.kind === 'server' ? this.encode(info.request, contentType) : EMPTY;
      const h = this.host.run((now) => this.engine.startStream(o.peer ?? '', info.service, info.method, metadata, payload,
        CONTENT_TYPES.indexOf(contentType), STREAM_KINDS.indexOf(info.kind), o.timeoutMs ?? 30000, o.attemptTimeoutMs ?? 0,
        o.idempotent ?? false, o.retries ?? 0, STRATEGIES.indexOf(o.strategy ?? 'round-robin'), o.key ?? '', now));
      if (typeof h !== 'number') throw errorFor(h.code, h.message);
      handle = h;
    }
    const state: CallState = { kind: info.kind, contentType, writable: [], ended: false, onTrailer: o.onTrailer, onHeader: o.onHeader };
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
      this.nextHandle = this.host.run(() => this.engine.reserveHandles(HANDLE_BLOCK));
      this.handlesLeft = HANDLE_BLOCK;
    }
    this.handlesLeft--;
    return this.nextHandle++;
  }

  private consumed(handle: number): void {
    if (this.closed || !this.calls.has(handle)) return;
    this.host.run((now) => this.engine.consumed(handle, 1, now));
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
    this.check(this.host.run((now) => this.engine.endStream(handle, now)));
    this.flush();
  }

  private async sendMessage(c: OpenCall, message: unknown): Promise<void> {
    await this.sendBytes(c.handle, c.state, this.encode(message, c.state.contentType));
  }

  // Sends one stream message, waiting for credit (kWritable) when the peer's window is full.
  private async sendBytes(handle: number, state: CallState, bytes: Uint8Array): Promise<void> {
    for (;;) {
      if (state.ended) throw state.error ?? new NitroError('CANCELLED', 'the call has ended');
      this.sendHeader(handle, state);
      const err = this.host.run((now) => this.engine.send(handle, bytes, now));
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
        const r = new BatchReader(this.step());
        deadline = r.f64();
        if (!r.done()) this.consume(r);  // sets `again` when a send failed (peerDown queued output)
      } while (!this.closed && (this.again || !this.inbound.empty()));
    } finally {
      this.flushing = false;
    }
    this.host.schedule(deadline);
  }

  // One crossing for everything queued: the input is copied straight into the engine's buffer,
  // the output batch copied out once (both views into wasm memory, valid until the next call).
  private step(): Uint8Array {
    this.inboundFrames = 0;
    const input = this.inbound.take(this.recordsPerStep);
    return this.host.run((now) => {
      if (input.length > 0) this.engine.inputView(input.length).set(input);
      this.inbound.drop();
      return unwrap<Uint8Array>(this.engine.step(input.length, now)).slice();
    });
  }

  // Events a node's RPC composition emitted on its own (a frame in, a timer).
  private onEvents(batch: Uint8Array): void {
    if (this.closed) return;
    const r = new BatchReader(batch);
    r.f64();
    this.consume(r);
  }

  private consume(r: BatchReader): void {
    const events: EngineEvent[] = [];
    while (!r.done()) {
      if (r.u8() === 1) {
        const peer = r.str();
        const bytes = r.bin();
        if (!this.host.send(peer, bytes)) this.again = true;
      } else {
        events.push(r.event());
      }
    }
    for (const e of events) this.dispatch(e);
  }

  private dispatch(e: EngineEvent): void {
    if (e.kind === 'request') return this.onRequest(e);
    const state = this.calls.get(e.handle);
    if (!state) return;
    switch (e.kind) {
      case 'message':
        this.reportHeader(e, state);
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
    this.reportHeader(e, state);
    if (state.onTrailer) {
      try {
        state.onTrailer({ ...(e.metadata ?? {}) });
      } catch {
        // a throwing trailer callback must not lose the call's outcome
      }
    }
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
      (err as NitroError & { metadata?: Metadata }).metadata = e.metadata ?? {};
      state.error = err;
      state.inbox?.end(err);
      state.settle?.reject(err);
    }
    for (const wake of state.writable.splice(0)) wake();
  }

  // Client: the response headers once, with the call's first message or its end.
  private reportHeader(e: EngineEvent, state: CallState): void {
    if (state.headerDone || !state.onHeader) return;
    state.headerDone = true;
    try {
      state.onHeader({ ...(e.header ?? {}) });
    } catch {
      // a throwing header callback must not lose the call's messages or outcome
    }
  }

  // Server: ctx.header leaves with the first stream message or the response.
  private sendHeader(handle: number, state: CallState): void {
    if (state.headerDone || !state.header) return;
    state.headerDone = true;
    if (Object.keys(state.header).length === 0) return;
    const err = this.host.run(() => this.engine.setHeader(handle, packMetadata(state.header!)));
    if (err) throw errorFor(err.code, err.message);
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
    const deadline = e.deadlineAtMs == null ? undefined : Math.round(performance.timeOrigin + performance.now() + (e.deadlineAtMs - this.now()));
    const ctx = new ServerContext(e, deadline, state);
    // The request's dedupe mark was drained with it: once durable, a restarted server refuses a
    // retransmission instead of running the handler a second time.
    const written = this.host.durable?.();
    if (written) void written.then(() => this.runHandler(e.handle, h, ctx, state, e.payload), () => undefined);
    else void this.runHandler(e.handle, h, ctx, state, e.payload);
  }

  private async runHandler(handle: number, h: { kind: StreamKind; fn: Handler } | undefined, ctx: ServerContext,
                           state: CallState, payload: Uint8Array | undefined): Promise<void> {
    try {
      if (!h) throw new NitroError('UNIMPLEMENTED', `no handler for ${ctx.method}`);
      const input = state.inbox ?? this.decode(payload, state.contentType);
      const result = await (this.serverInterceptors.length === 0 ? h.fn(input, ctx) : this.intercepted(h.fn)(input, ctx));
      if (state.kind === 'server' || state.kind === 'bidi') {
        for await (const item of result as AsyncIterable<unknown>) {
          if (state.ended) break;
          await this.sendBytes(handle, state, this.encode(item, state.contentType));
        }
        this.respond(handle, state, 'OK', '', EMPTY, ctx.sentTrailer, undefined);
      } else {
        this.respond(handle, state, 'OK', '', this.encode(result, state.contentType), ctx.sentTrailer, undefined);
      }
    } catch (err) {
      const w = wireError(err);
      this.respond(handle, state, w.code, w.message, EMPTY, ctx.sentTrailer, w.details);
    }
  }

  private intercepted(fn: Handler): (r: unknown, c: HandlerContext) => Promise<unknown> {
    return this.serverInterceptors.reduceRight<(r: unknown, c: HandlerContext) => Promise<unknown>>(
      (next, interceptor) => (r, c) => interceptor(r, c, next), async (r, c) => fn(r, c));
  }

  private respond(handle: number, state: CallState, code: ErrorCode | 'OK', message: string, payload: Uint8Array,
                  trailer: Metadata, details: unknown): void {
    if (state.ended || this.closed) return;  // cancelled or timed out: nobody is waiting
    try {
      this.sendHeader(handle, state);
    } catch {
      // a header the engine refuses (too large) is dropped; the response still goes out
    }
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

/** A handler's context; the AbortController behind `signal` is made on first use (most handlers
 *  never look at it). */
class ServerContext implements HandlerContext {
  readonly peer: string;
  readonly service: string;
  readonly method: string;
  readonly metadata: Readonly<Metadata>;
  private trailerMd: Metadata | undefined;  // made on first use, like the signal
  private headerMd: Metadata | undefined;

  constructor(e: EngineEvent, readonly deadline: number | undefined, private readonly state: CallState) {
    this.peer = e.peer;
    this.service = e.service ?? '';
    this.method = e.method ?? '';
    this.metadata = e.metadata ?? {};
  }

  get trailer(): Metadata {
    return (this.trailerMd ??= {});
  }

  get header(): Metadata {
    return (this.headerMd ??= this.state.header = {});
  }

  /** The trailer to send: none if the handler never touched it. */
  get sentTrailer(): Metadata {
    return this.trailerMd ?? NO_METADATA;
  }

  get signal(): AbortSignal {
    if (!this.state.controller) {
      this.state.controller = new AbortController();
      if (this.state.error) this.state.controller.abort(this.state.error);
    }
    return this.state.controller.signal;
  }
}

