// The seam between the node host and a transport (memory, WebSocket, ...). A transport moves whole
// frames: one send() is one message at the other end (the core's one-frame-per-handle rule).
//
// Addresses are opaque strings chosen by the transport. An outbound transport is keyed by the
// address it dialed; an inbound one by an address unique to that connection (so a dial and an
// inbound connection between the same two nodes never collide).

/** What a transport reports to the node host. */
export interface TransportSink {
  /** A transport to `address` opened; `initiator` is true when we dialed it. */
  opened(address: string, initiator: boolean): void;
  /** One frame arrived on the transport at `address`. */
  frame(address: string, bytes: Uint8Array): void;
  /** The transport at `address` closed, or a dial to it failed. Not called after hangup(). */
  closed(address: string): void;
}

/** One node's use of a transport. */
export interface TransportInstance {
  /** How other nodes dial this one ('' for a client-only node). */
  readonly listenAddress: string;
  /** Contacts to join through when the application gave none. */
  readonly bootstrap: string[];
  /** Open a transport to `address`; reports opened() or closed() later (never synchronously). */
  dial(address: string): void;
  /** Send one frame; silently dropped if the transport is not open (the core copes with loss). */
  send(address: string, bytes: Uint8Array): void;
  /** Bytes sent but not yet handed to the other end (the host refuses to publish above a bound). */
  queuedBytes(): number;
  /** Close the transport at `address` without reporting closed() for it. */
  hangup(address: string): void;
  /** Close everything (listeners, every connection). Idempotent. */
  close(): Promise<void>;
}

export interface TransportContext {
  /** The node's name (createNode options.name). */
  name: string;
}

/** A transport factory, as returned by memory() or websocket(). */
export interface Transport {
  readonly kind: string;
  open(sink: TransportSink, context: TransportContext): Promise<TransportInstance>;
}

/** Runs `fn` in a later macrotask without the 4 ms clamp of nested setTimeout(0). */
export const macrotask: (fn: () => void) => void = (() => {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return (fn: () => void) => void g.setImmediate!(fn);
  if (typeof MessageChannel === 'function') {
    const queue: Array<() => void> = [];
    const channel = new MessageChannel();
    channel.port1.onmessage = () => queue.shift()?.();
    return (fn: () => void) => {
      queue.push(fn);
      channel.port2.postMessage(0);
    };
  }
  return (fn: () => void) => void setTimeout(fn, 0);
})();
