// RPC: the public entry of the JS API (split by concern under ./rpc/).
export { Rpc } from './rpc/rpc.js';
export { MemoryNetwork, SocketLink } from './rpc/links.js';
export type { SocketLike } from './rpc/links.js';
export type {
  RpcLink, CallOptions, HandlerContext, ClientCallInfo, ClientInterceptor, ServerInterceptor, RpcOptions, ClientStream,
  BidiStream, StreamKind, ContentType, Strategy, Metadata,
} from './rpc/types.js';
export { defineService, createClient, implement, method } from './rpc/service.js';
export { protobuf } from './rpc/protobuf.js';
export type { WireCodec } from './rpc/protobuf.js';
export type { ServiceDef, MethodDef, Parser, Client, Handlers, TypedClientStream, TypedBidiStream } from './rpc/service.js';
