// RPC on a createNode node: see ./rpc/node.ts.
export { attachRpc } from './rpc/node.js';
export type { NodeRpcOptions, RpcNodeMethods } from './rpc/node.js';
