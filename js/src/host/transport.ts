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
  /** Called once the node exists, for transports that signal through it (webrtc()). */
  bindNode?(node: TransportNode): void;
  /** webrtc(): the signalling settings the node's core attaches with. */
  readonly signalling?: { maxConnections: number; sessionTimeoutMs?: number };
}

export interface TransportContext {
  /** The node's name (createNode options.name). */
  name: string;
  /** The node's peer id (webrtc() advertises `rtc:<id>`: peers are dialed by identity). */
  id?: string;
}

/**
 * What a transport that needs the node itself (WebRTC signals through it) is handed once the node
 * exists. Structural, so transports do not import the node host.
 */
export interface TransportNode {
  run<T>(fn: (core: unknown, nowMs: number) => T): T;
  onProtocol(channel: string, fn: (bytes: Uint8Array) => void): () => void;
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

// ---- several transports at once -----------------------------------------------------------------

// Which kind dials an address. Inbound addresses are never dialed: they stay with the transport
// that reported them.
const kDialPrefixes: Record<string, RegExp> = {
  memory: /^mem:/,
  websocket: /^wss?:\/\//,
  webrtc: /^rtc:/,
};

class MultiInstance implements TransportInstance {
  readonly listenAddress: string;
  readonly bootstrap: string[];
  readonly signalling?: { maxConnections: number; sessionTimeoutMs?: number };

  /** `owner` is shared with the parts' sinks (sinkFor), which record inbound connections in it. */
  constructor(
    private readonly parts: Array<{ kind: string; instance: TransportInstance }>,
    private readonly owner: Map<string, TransportInstance>,
  ) {
    this.listenAddress = parts.map((p) => p.instance.listenAddress).find((a) => a !== '') ?? '';
    this.bootstrap = [...new Set(parts.flatMap((p) => p.instance.bootstrap))];
    this.signalling = parts.find((p) => p.instance.signalling)?.instance.signalling;
  }

  dial(address: string): void {
    const part = this.parts.find((p) => kDialPrefixes[p.kind]?.test(address)) ?? this.parts[0]!;
    this.owner.set(address, part.instance);
    part.instance.dial(address);
  }

  send(address: string, bytes: Uint8Array): void {
    this.owner.get(address)?.send(address, bytes);
  }

  queuedBytes(): number {
    return this.parts.reduce((n, p) => n + p.instance.queuedBytes(), 0);
  }

  hangup(address: string): void {
    const part = this.owner.get(address);
    this.owner.delete(address);
    part?.hangup(address);
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.instance.close()));
  }

  bindNode(node: TransportNode): void {
    for (const p of this.parts) p.instance.bindNode?.(node);
  }
}

// A part's reports: record which part owns an address, then forward to the node.
function sinkFor(target: TransportSink, owner: Map<string, TransportInstance>, part: () => TransportInstance): TransportSink {
  return {
    opened: (address, initiator) => {
      owner.set(address, part());
      target.opened(address, initiator);
    },
    frame: (address, bytes) => target.frame(address, bytes),
    closed: (address) => {
      if (owner.get(address) === part()) owner.delete(address);
      target.closed(address);
    },
  };
}

/**
 * Runs several transports at once (createNode({ transport: [websocket({ url }), webrtc()] })).
 * The node advertises the first non-empty listen address; each address is dialed by the transport
 * of its scheme (mem:, ws://, rtc:) and a connection stays with the transport that opened it.
 */
export function multi(transports: Transport[]): Transport {
  if (transports.length === 1) return transports[0]!;
  return {
    kind: transports.map((t) => t.kind).join('+'),
    async open(sink, context) {
      const owner = new Map<string, TransportInstance>();
      const parts: Array<{ kind: string; instance: TransportInstance }> = [];
      try {
        for (const t of transports) {
          const slot: { instance?: TransportInstance } = {};
          slot.instance = await t.open(sinkFor(sink, owner, () => slot.instance!), context);
          parts.push({ kind: t.kind, instance: slot.instance });
        }
      } catch (e) {
        await Promise.all(parts.map((p) => p.instance.close()));
        throw e;
      }
      return new MultiInstance(parts, owner);
    },
  };
}
