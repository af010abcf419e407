// RPC without a node: links that carry the core's link messages between Rpc instances directly.
// For tests, benchmarks and trusted networks; a createNode node has secure links of its own.
import { NitroError } from '../errors.js';
import type { RpcLink } from './types.js';

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

/** An RpcLink over message sockets (WebSocket between processes or hosts): one link message per
 *  binary message (the core coalesces a step's frames for one peer into one). Each side first
 *  sends its id as one text message (the hello); messages that arrive before the peer's hello are
 *  ignored, malformed ones are dropped by the core. No authentication or encryption: the node's
 *  secure links provide those; this link is for tests, benchmarks and trusted networks. */
export class SocketLink implements RpcLink {
  private readonly sockets = new Map<string, SocketLike>();
  private receiver: (peer: string, bytes: Uint8Array) => void = () => undefined;
  private downListener: (peer: string) => void = () => undefined;

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
        if (bytes) this.receiver(peer, bytes);
      });
      socket.addEventListener('close', () => {
        if (peer === undefined) return reject(new NitroError('UNAVAILABLE', 'socket closed before the hello'));
        if (this.sockets.get(peer) !== socket) return;
        this.sockets.delete(peer);
        this.downListener(peer);
      });
      if (socket.readyState === 0) socket.addEventListener('open', () => socket.send(this.id));
      else socket.send(this.id);
    });
  }

  send(peer: string, bytes: Uint8Array): void {
    const socket = this.sockets.get(peer);
    if (!socket) throw new NitroError('UNAVAILABLE', `no socket to ${peer}`);
    socket.send(bytes);  // a view of a drain batch no one reuses: the socket may queue it
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
