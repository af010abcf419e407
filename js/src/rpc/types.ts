// The public types of RPC: links, options, handler context, interceptors, streams.
import type { ErrorCode } from '../errors.js';

/**
 * A link carries RPC link messages between peers without a node (an in-process pipe, a plain
 * WebSocket): `id` is this side's peer key; `send(peer, message)` delivers one link message
 * (throwing means the peer is unreachable); `onMessage` hears every inbound message; optional
 * `onPeerDown` reports a lost peer. Messages are opaque (the core's format, nitro/rpc_batch.h).
 */
export interface RpcLink {
  readonly id: string;
  send(peer: string, bytes: Uint8Array): void;
  onMessage(receiver: (peer: string, bytes: Uint8Array) => void): void;
  onPeerDown?(listener: (peer: string) => void): void;
}

export type StreamKind = 'unary' | 'server' | 'client' | 'bidi';
/**
 * How payloads are encoded: msgpack (the data model of js/src/codec.ts), JSON, or protobuf — for
 * protobuf the values are the encoded messages (Uint8Array); typed services with
 * `protobuf(RequestSchema, ResponseSchema)` encode and decode them with @bufbuild/protobuf.
 */
export type ContentType = 'msgpack' | 'json' | 'protobuf';
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
  /**
   * The token (bytes, or its id in hex) this call is authorized with: the server decides with
   * exactly that one of the tokens this node presented (refusing with PERMISSION_DENIED if it is
   * unknown there, expired, revoked or does not grant the method) instead of with all of them.
   * Sent as metadata `nitro-token`. (Named apart from `token`, which apps' interceptors use.)
   */
  authToken?: Uint8Array | string;
  /** Call this peer directly instead of picking an instance of the service. */
  peer?: string;
  strategy?: Strategy;
  /** Consistent-hashing key (strategy 'hash'): calls with one key stick to one instance. */
  key?: string;
  contentType?: ContentType;
  /**
   * Receives the response's trailing metadata (what the handler put in `ctx.trailer`) when the
   * call ends, successfully or not, before the result settles (Connect's `onTrailer`).
   */
  onTrailer?: (trailer: Metadata) => void;
  /**
   * Receives the response headers (what the handler put in `ctx.header` before its first message
   * or its result) once per answered call: before the first stream message, or before the result
   * (Connect's `onHeader`).
   */
  onHeader?: (header: Metadata) => void;
}

export interface HandlerContext {
  readonly peer: string;
  readonly service: string;
  readonly method: string;
  readonly metadata: Readonly<Metadata>;
  /** Wall-clock deadline (Unix milliseconds, Date.now() scale), or undefined for none. */
  readonly deadline: number | undefined;
  /** Aborted when the caller cancels, the deadline passes or the caller's link goes down. */
  readonly signal: AbortSignal;
  /** Response headers: sent with the first stream message or the response, whichever leaves
   *  first; entries added later are not sent. */
  readonly header: Metadata;
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
  /** Entropy for call ids and random load balancing (RPC over a link; a node uses its own). */
  seed?: number;
  /** RPC over a link: inbound messages per engine step (default 16); the rest of a burst is
   *  worked through in later macrotasks, so answers to its first part leave meanwhile. */
  framesPerStep?: number;
  /** Queued call starts, responses and messages per engine step (default: all). A smaller bound
   *  sends a burst in parts, so on idle cores the peer starts on the first part meanwhile. */
  recordsPerStep?: number;
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

export type Handler = (request: any, ctx: HandlerContext) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

/** An engine event as read from a drain batch. */
export interface EngineEvent {
  kind: 'request' | 'message' | 'halfClose' | 'done' | 'cancelled' | 'writable';
  handle: number;
  peer: string;
  streamKind: StreamKind;
  service?: string;
  method?: string;
  metadata?: Metadata;
  /** message/done (client): the response headers, on the call's first such event. */
  header?: Metadata;
  payload?: Uint8Array;
  contentType?: ContentType;
  deadlineAtMs?: number | null;
  code?: ErrorCode | 'OK';
  message?: string;
  details?: unknown;
  attempts?: number;
}
