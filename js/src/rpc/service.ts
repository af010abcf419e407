// Typed services (after Connect's createClient(Service, transport) and tRPC's router types): a
// service is described once — its name and, per method, its kind and optional validators — and
// yields a typed client and typed handlers. Validators are anything with `parse(x)` (a zod schema,
// valibot's wrapper, a hand-written guard) or a plain function; they run on the receiving side of
// each message: requests in the handler's node (a throw becomes INVALID_ARGUMENT for the caller),
// responses in the client (a throw rejects the call with INVALID_ARGUMENT). A method may also carry
// a wire codec (`protobuf(Req, Res)`, js/src/rpc/protobuf.ts): values are encoded by it on the
// sending side and decoded before validation on the receiving side.
import { NitroError } from '../errors.js';
import type { WireCodec } from './protobuf.js';
import type { BidiStream, CallOptions, ClientStream, HandlerContext, StreamKind } from './types.js';
import type { RpcNodeMethods } from './node.js';

/** A validator: `{ parse(x) }` (zod-compatible) or a function; returns the typed value or throws. */
export type Parser<T> = { parse(value: unknown): T } | ((value: unknown) => T);

export interface MethodDef<Req, Res, K extends StreamKind> {
  readonly kind: K;
  readonly request?: Parser<Req>;
  readonly response?: Parser<Res>;
  readonly codec?: WireCodec<Req, Res>;
  /** Types only: never set. */
  readonly __types?: { req: Req; res: Res };
}

type AnyMethod = MethodDef<any, any, StreamKind>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Methods = Record<string, AnyMethod>;
type ReqOf<M> = M extends MethodDef<infer Req, any, any> ? Req : never; // eslint-disable-line @typescript-eslint/no-explicit-any
type ResOf<M> = M extends MethodDef<any, infer Res, any> ? Res : never; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ServiceDef<M extends Methods> {
  /** Method names on the wire are `<name>.<method>`. */
  readonly name: string;
  readonly methods: M;
}

interface Validators<Req, Res> { request?: Parser<Req>; response?: Parser<Res>; codec?: WireCodec<Req, Res> }

export const method = {
  unary: <Req, Res>(v: Validators<Req, Res> = {}): MethodDef<Req, Res, 'unary'> => ({ kind: 'unary', ...v }),
  serverStream: <Req, Res>(v: Validators<Req, Res> = {}): MethodDef<Req, Res, 'server'> => ({ kind: 'server', ...v }),
  clientStream: <Req, Res>(v: Validators<Req, Res> = {}): MethodDef<Req, Res, 'client'> => ({ kind: 'client', ...v }),
  bidi: <Req, Res>(v: Validators<Req, Res> = {}): MethodDef<Req, Res, 'bidi'> => ({ kind: 'bidi', ...v }),
};

/** Describes a service once: `defineService('Greeter', { hello: method.unary<Req, Res>() })`. */
export function defineService<M extends Methods>(name: string, methods: M): ServiceDef<M> {
  if (typeof name !== 'string' || name.length === 0 || name.includes('/')) {
    throw new NitroError('INVALID_ARGUMENT', 'a service name is a non-empty string without /');
  }
  for (const [m, def] of Object.entries(methods)) {
    if (!['unary', 'server', 'client', 'bidi'].includes(def?.kind)) throw new NitroError('INVALID_ARGUMENT', `method ${m}: unknown kind`);
  }
  return { name, methods };
}

export interface TypedClientStream<Req, Res> extends ClientStream<Res> {
  send(message: Req): Promise<void>;
}
export interface TypedBidiStream<Req, Res> extends BidiStream<Res> {
  send(message: Req): Promise<void>;
}

/** The typed client of a service: one function per method, shaped by its kind. */
export type Client<M extends Methods> = {
  [K in keyof M]: M[K]['kind'] extends 'unary' ? (request: ReqOf<M[K]>, options?: CallOptions) => Promise<ResOf<M[K]>>
    : M[K]['kind'] extends 'server' ? (request: ReqOf<M[K]>, options?: CallOptions) => AsyncIterable<ResOf<M[K]>>
    : M[K]['kind'] extends 'client' ? (options?: CallOptions) => TypedClientStream<ReqOf<M[K]>, ResOf<M[K]>>
    : (options?: CallOptions) => TypedBidiStream<ReqOf<M[K]>, ResOf<M[K]>>;
};

type Awaitable<T> = T | Promise<T>;

/** The typed handlers of a service: one per method, shaped by its kind. */
export type Handlers<M extends Methods> = {
  [K in keyof M]: M[K]['kind'] extends 'unary' ? (request: ReqOf<M[K]>, ctx: HandlerContext) => Awaitable<ResOf<M[K]>>
    : M[K]['kind'] extends 'server' ? (request: ReqOf<M[K]>, ctx: HandlerContext) => AsyncIterable<ResOf<M[K]>>
    : M[K]['kind'] extends 'client' ? (requests: AsyncIterable<ReqOf<M[K]>>, ctx: HandlerContext) => Awaitable<ResOf<M[K]>>
    : (requests: AsyncIterable<ReqOf<M[K]>>, ctx: HandlerContext) => AsyncIterable<ResOf<M[K]>>;
};

function runParser<T>(parser: Parser<T> | undefined, value: unknown, what: string): T {
  if (!parser) return value as T;
  try {
    return typeof parser === 'function' ? parser(value) : parser.parse(value);
  } catch (e) {
    if (e instanceof NitroError && e.code === 'INVALID_ARGUMENT') throw e;
    throw new NitroError('INVALID_ARGUMENT', `${what} failed validation: ${(e as Error).message}`, e);
  }
}

async function* mapEach<T>(source: AsyncIterable<unknown>, fn: (value: unknown, what: string) => T, what: string): AsyncGenerator<T> {
  for await (const item of source) yield fn(item, what);
}

// A codec that imports its library on first use starts loading when a client or handler set is
// made; calls await it (a failed import rejects them with the codec's error, not as unhandled).
function codecReady(codec: WireCodec<unknown, unknown> | undefined): Promise<void> | undefined {
  const ready = codec?.load?.();
  ready?.catch(() => {});
  return ready;
}

// The receiving side of a value: the codec's decoding (when the method has one), then validation.
function decodeThenParse<T>(parser: Parser<T> | undefined, decode: ((wire: unknown) => T) | undefined) {
  return (value: unknown, what: string): T => runParser(parser, decode ? decode(value) : value, what);
}

/**
 * A typed client for `service`, calling instances named `options.target` (default: the
 * service's name; a node's name is its service name).
 */
export function createClient<M extends Methods>(
  node: RpcNodeMethods, service: ServiceDef<M>, options: { target?: string } = {},
): Client<M> {
  const target = options.target ?? service.name;
  const client: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(service.methods)) {
    const full = `${service.name}.${name}`;
    const what = `${full} response`;
    const codec = def.codec;
    const ready = codecReady(codec);
    const enc = (req: unknown) => (codec ? codec.encodeRequest(req) : req);
    const dec = decodeThenParse(def.response, codec && ((w) => codec.decodeResponse(w)));
    const withType = (opts?: CallOptions): CallOptions | undefined => (codec ? { ...opts, contentType: codec.contentType } : opts);
    // Sends wait for the codec's library (ready: undefined without one, so msgpack sends stay direct).
    const send = (s: { send(m: unknown): Promise<void> }) => (m: unknown) => (ready ? ready.then(() => s.send(enc(m))) : s.send(enc(m)));
    switch (def.kind) {
      case 'unary':
        client[name] = async (req: unknown, opts?: CallOptions) => {
          await ready;
          return dec(await node.call(target, full, enc(req), withType(opts)), what);
        };
        break;
      case 'server':
        client[name] = (req: unknown, opts?: CallOptions) => (ready
          ? (async function* () { await ready; yield* mapEach(node.stream(target, full, enc(req), withType(opts)), dec, what); })()
          : mapEach(node.stream(target, full, enc(req), withType(opts)), dec, what));
        break;
      case 'client':
        client[name] = (opts?: CallOptions) => {
          const s = node.clientStream(target, full, withType(opts));
          return { send: send(s), cancel: s.cancel, end: async () => dec(await s.end(), what) };
        };
        break;
      default:
        client[name] = (opts?: CallOptions) => {
          const s = node.bidi(target, full, withType(opts));
          return { send: send(s), end: s.end, cancel: s.cancel, [Symbol.asyncIterator]: () => mapEach(s, dec, what)[Symbol.asyncIterator]() };
        };
    }
  }
  return client as Client<M>;
}

/** Registers typed handlers for every method of `service` on `node`; returns a function removing them. */
export function implement<M extends Methods>(node: RpcNodeMethods, service: ServiceDef<M>, handlers: Handlers<M>): () => void {
  const offs: Array<() => void> = [];
  for (const [name, def] of Object.entries(service.methods)) {
    const fn = (handlers as Record<string, (input: unknown, ctx: HandlerContext) => unknown>)[name];
    if (typeof fn !== 'function') throw new NitroError('INVALID_ARGUMENT', `no handler for ${service.name}.${name}`);
    const what = `${service.name}.${name} request`;
    const codec = def.codec;
    const ready = codecReady(codec);
    const dec = decodeThenParse(def.request, codec && ((w) => codec.decodeRequest(w)));
    const enc = (res: unknown) => (codec ? codec.encodeResponse(res) : res);
    const wrapped = def.kind === 'server'
      ? async function* (req: unknown, ctx: HandlerContext) {
        await ready;
        for await (const r of fn(dec(req, what), ctx) as AsyncIterable<unknown>) yield enc(r);
      }
      : def.kind === 'bidi'
        ? async function* (reqs: AsyncIterable<unknown>, ctx: HandlerContext) {
          await ready;
          for await (const r of fn(mapEach(reqs, dec, what), ctx) as AsyncIterable<unknown>) yield enc(r);
        }
        : async (input: unknown, ctx: HandlerContext) => {
          await ready;
          return enc(await fn(def.kind === 'client' ? mapEach(input as AsyncIterable<unknown>, dec, what) : dec(input, what), ctx));
        };
    offs.push(node.handle(`${service.name}.${name}`, wrapped, { kind: def.kind }));
  }
  return () => { for (const off of offs.splice(0)) off(); };
}
