// WebSocket transport: one binary WebSocket message per frame. Under Node it uses npm `ws` for the
// server ({ listen }) and for dialing; in browsers and workers it dials with the global WebSocket
// (a browser node is a client: it listens nowhere). `ws` is loaded (loadPackage) only on Node
// paths, so the browser entry graph holds no Node built-ins.
import { NitroError } from '../../errors.js';
import { loadPackage } from '../package.js';
import type { Transport, TransportInstance, TransportSink } from '../transport.js';

export interface WebSocketOptions {
  /** Node only: listen on this TCP port (0 picks a free one). */
  listen?: number;
  /**
   * Node only: accept WebSocket upgrades on this existing http(s).Server (e.g. the one serving the
   * app) instead of a port of our own; it is not closed by the node. Advertised as
   * `ws://127.0.0.1:<its port><path>` unless `advertise` says otherwise.
   */
  server?: unknown;
  /** With `server`: the URL path to accept upgrades on (default: any). */
  path?: string;
  /** Node only: interface to listen on (default '127.0.0.1'). */
  host?: string;
  /** The address to advertise for others to dial (default `ws://<host>:<port>`). */
  advertise?: string;
  /** Contact(s) to join through, e.g. 'ws://127.0.0.1:7000'; added to the bootstrap list. */
  url?: string | string[];
  /** Largest frame accepted (default 1 MiB + 4 KiB, above the core's frame_bytes_max). */
  maxFrameBytes?: number;
  /** Frames are dropped while a socket has more than this many bytes queued (default 16 MiB). */
  bufferedBytesMax?: number;
}

const kMaxFrameBytes = (1 << 20) + 4096;
const kBufferedBytesMax = 16 << 20;

/** The part of a WebSocket (browser or `ws`) that this transport uses. */
interface Socket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: Uint8Array): void;
  close(): void;
  terminate?(): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

type SocketFactory = (url: string, maxFrameBytes: number) => Socket;

interface WsServer {
  address(): { port: number } | string | null;
  close(cb?: (err?: Error) => void): void;
  clients: Set<Socket>;
  on(event: 'connection', fn: (socket: Socket, req: { socket: { remoteAddress?: string; remotePort?: number } }) => void): void;
  on(event: 'listening', fn: () => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
}

interface WsModule {
  WebSocket: new (url: string, options: { maxPayload: number }) => Socket;
  WebSocketServer: new (options: { port?: number; host?: string; server?: unknown; path?: string; maxPayload: number }) => WsServer;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

async function loadWs(): Promise<WsModule> {
  const specifier = 'ws';  // a variable: bundlers for browsers leave it alone
  try {
    const mod = (await loadPackage(specifier)) as WsModule & { default?: WsModule };
    return mod.WebSocketServer ? mod : (mod.default as WsModule);
  } catch (e) {
    throw new NitroError('UNAVAILABLE', `websocket(): npm package 'ws' is needed under Node (${String(e)})`);
  }
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;  // ws delivers Buffers (a Uint8Array subclass)
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) {  // ws fragments, in the rare 'fragments' binaryType
    const parts = data as Uint8Array[];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  return undefined;  // text frames are not Nitro frames
}

const kOpen = 1;
const kCloseGraceMs = 500;

class WsEndpoint implements TransportInstance {
  private readonly sockets = new Map<string, Socket>();
  private closed = false;
  private inbound = 0;

  constructor(
    private readonly sink: TransportSink,
    private readonly factory: SocketFactory,
    readonly listenAddress: string,
    readonly bootstrap: string[],
    private readonly server: WsServer | undefined,
    private readonly options: Required<Pick<WebSocketOptions, 'maxFrameBytes' | 'bufferedBytesMax'>>,
  ) {
    server?.on('connection', (socket, req) => {
      const address = `ws-in:${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}#${++this.inbound}`;
      if (this.closed) return this.kill(socket);
      this.track(address, socket);
      this.sink.opened(address, false);
    });
  }

  dial(address: string): void {
    if (this.closed) return;
    this.hangup(address);
    if (!/^wss?:\/\//.test(address)) {
      queueMicrotask(() => this.sink.closed(address));
      return;
    }
    let socket: Socket;
    try {
      socket = this.factory(address, this.options.maxFrameBytes);
    } catch {
      queueMicrotask(() => this.sink.closed(address));
      return;
    }
    this.track(address, socket);
    socket.onopen = () => {
      if (this.sockets.get(address) === socket) this.sink.opened(address, true);
    };
  }

  send(address: string, bytes: Uint8Array): void {
    const socket = this.sockets.get(address);
    if (!socket || socket.readyState !== kOpen) return;
    if (socket.bufferedAmount > this.options.bufferedBytesMax) return;  // bounded: the core copes with loss
    socket.send(bytes);
  }

  queuedBytes(): number {
    let n = 0;
    for (const socket of this.sockets.values()) n += socket.bufferedAmount;
    return n;
  }

  hangup(address: string): void {
    const socket = this.sockets.get(address);
    if (!socket) return;
    this.sockets.delete(address);
    this.kill(socket);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Gracefully, so frames still buffered (a last publish) go out; a peer that does not answer
    // the close handshake within kCloseGraceMs is dropped.
    const sockets = new Set([...this.sockets.values(), ...(this.server?.clients ?? [])]);
    this.sockets.clear();
    await Promise.all([...sockets].map((socket) => this.closeGracefully(socket)));
    const server = this.server;
    if (server) await new Promise<void>((done) => server.close(() => done()));
  }

  private closeGracefully(socket: Socket): Promise<void> {
    if (socket.readyState !== kOpen) {
      this.kill(socket);
      return Promise.resolve();
    }
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.kill(socket);
        done();
      }, kCloseGraceMs);
      socket.onopen = socket.onmessage = null;
      socket.onerror = () => {};
      socket.onclose = () => {
        clearTimeout(timer);
        done();
      };
      socket.close();
    });
  }

  private track(address: string, socket: Socket): void {
    this.sockets.set(address, socket);
    socket.binaryType = isNode ? 'nodebuffer' : 'arraybuffer';  // Buffers under ws avoid a copy
    socket.onmessage = (ev) => {
      if (this.sockets.get(address) !== socket) return;
      const bytes = toBytes(ev.data);
      if (bytes) this.sink.frame(address, bytes);
    };
    const gone = () => {
      if (this.sockets.get(address) !== socket) return;
      this.sockets.delete(address);
      this.sink.closed(address);
    };
    socket.onclose = gone;
    socket.onerror = gone;
  }

  private kill(socket: Socket): void {
    socket.onopen = socket.onmessage = socket.onclose = null;
    socket.onerror = () => {};  // a late error on a dropped socket must not become an uncaught event
    // ws: terminate() drops at once (close() would wait up to 30 s for the peer's close frame).
    if (socket.terminate) socket.terminate();
    else socket.close();
  }
}

async function listen(ws: WsModule, port: number, host: string, maxPayload: number): Promise<WsServer> {
  const server = new ws.WebSocketServer({ port, host, maxPayload });
  await new Promise<void>((ok, fail) => {
    server.on('listening', ok);
    server.on('error', (err) => fail(new NitroError('UNAVAILABLE', `websocket(): cannot listen on ${host}:${port}: ${err.message}`)));
  });
  return server;
}

interface HttpServerLike {
  address(): { port: number } | string | null;
}

function attach(ws: WsModule, options: WebSocketOptions, maxPayload: number): { server: WsServer; listenAddress: string } {
  const http = options.server as HttpServerLike;
  if (typeof http?.address !== 'function') throw new NitroError('INVALID_ARGUMENT', 'websocket({ server }) needs an http.Server');
  const bound = http.address();
  if (!options.advertise && !(typeof bound === 'object' && bound)) {
    throw new NitroError('FAILED_PRECONDITION', 'websocket({ server }): the server is not listening yet (or pass advertise)');
  }
  const server = new ws.WebSocketServer({ server: http, path: options.path, maxPayload });
  server.on('error', () => {});  // errors of the shared http server belong to its owner
  const port = typeof bound === 'object' && bound ? bound.port : 0;
  return { server, listenAddress: options.advertise ?? `ws://127.0.0.1:${port}${options.path ?? ''}` };
}

/**
 * The WebSocket transport. `{ listen: port }` (Node) accepts connections and advertises
 * `ws://host:port`; `{ server }` shares an existing http server; `{ url }` joins through that address. Every node can dial ws:// addresses it
 * learns from the overlay; browsers cannot listen, so they stay clients.
 */
export function websocket(options: WebSocketOptions = {}): Transport {
  const urls = options.url === undefined ? [] : Array.isArray(options.url) ? options.url : [options.url];
  const settings = {
    maxFrameBytes: options.maxFrameBytes ?? kMaxFrameBytes,
    bufferedBytesMax: options.bufferedBytesMax ?? kBufferedBytesMax,
  };
  return {
    kind: 'websocket',
    async open(sink) {
      let factory: SocketFactory;
      let server: WsServer | undefined;
      let listenAddress = '';
      if (isNode) {
        const ws = await loadWs();
        factory = (url, maxPayload) => new ws.WebSocket(url, { maxPayload });
        if (options.server !== undefined) {
          ({ server, listenAddress } = attach(ws, options, settings.maxFrameBytes));
        } else if (options.listen !== undefined) {
          const host = options.host ?? '127.0.0.1';
          server = await listen(ws, options.listen, host, settings.maxFrameBytes);
          const bound = server.address();
          const port = typeof bound === 'object' && bound ? bound.port : options.listen;
          listenAddress = options.advertise ?? `ws://${host}:${port}`;
        }
      } else {
        if (options.listen !== undefined || options.server !== undefined) {
          throw new NitroError('INVALID_ARGUMENT', 'websocket({ listen | server }) needs Node; browsers can only dial');
        }
        const Ctor = (globalThis as { WebSocket?: new (url: string) => Socket }).WebSocket;
        if (!Ctor) throw new NitroError('UNAVAILABLE', 'websocket(): no global WebSocket here');
        factory = (url) => new Ctor(url);
      }
      return new WsEndpoint(sink, factory, listenAddress, urls, server, settings);
    },
  };
}
