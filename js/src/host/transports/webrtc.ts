// WebRTC transport: one reliable, ordered RTCDataChannel per peer, one binary message per frame.
// Browsers and workers use the global RTCPeerConnection; Node uses npm `node-datachannel`'s W3C
// polyfill (loaded by a dynamic import only Node paths reach).
//
// This file owns only the peer connection objects. Signalling — who to connect to, the cap, the
// relay through the overlay, every bound and timeout — is the core's SignalProtocol (channel
// "rtc", core/src/signal): a dial asks the core for a session, the core's events tell this host
// to make an offer, accept one, apply an answer or a candidate, or close; the SDP and candidates
// this host produces go back into the core as opaque strings, which checks them and relays them.
//
// Addresses: the node advertises `rtc:<peer id>` (browsers have no other listen address, so the
// overlay's own membership dials them by identity); an outbound connection is keyed by the
// address dialed, an inbound one by `rtc-in:<peer id>#<session>`. The secure link (Noise XX)
// runs over the channel as over every transport.
import { NitroError, errorFor, unwrap, type ErrorCode } from '../../errors.js';
import { decode as msgpackDecode } from '../../msgpack.js';
import { getModule } from '../../wasm.js';
import type { Transport, TransportInstance, TransportNode, TransportSink } from '../transport.js';

export interface WebRtcOptions {
  /** WebRTC connections (pending + open) this node keeps at most (default 16; browsers handle few). */
  maxConnections?: number;
  /** ICE servers, e.g. [{ urls: 'stun:stun.example.org:3478' }]. Default none: host candidates only. */
  iceServers?: Array<{ urls: string | string[]; username?: string; credential?: string }>;
  /** A session must open within this many ms (default 15000); the core drops it otherwise. */
  sessionTimeoutMs?: number;
  /** Frames are dropped while a channel has more than this many bytes queued (default 16 MiB). */
  bufferedBytesMax?: number;
  /** Node only: the module providing RTCPeerConnection (default: import('node-datachannel/polyfill')). */
  implementation?: { RTCPeerConnection: PeerConnectionCtor };
}

/** The part of RTCPeerConnection (browser or node-datachannel polyfill) this transport uses. */
interface PeerConnection {
  readonly connectionState: string;
  readonly localDescription: { sdp: string } | null;
  onicecandidate: ((ev: { candidate: { candidate: string; sdpMid?: string | null } | null }) => void) | null;
  ondatachannel: ((ev: { channel: DataChannel }) => void) | null;
  onconnectionstatechange: (() => void) | null;
  createDataChannel(label: string, init?: { ordered?: boolean }): DataChannel;
  createOffer(): Promise<{ type: string; sdp?: string }>;
  createAnswer(): Promise<{ type: string; sdp?: string }>;
  setLocalDescription(d?: { type: string; sdp?: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  addIceCandidate(c: { candidate: string; sdpMid?: string }): Promise<void>;
  close(): void;
}

interface DataChannel {
  readonly readyState: string;
  readonly bufferedAmount: number;
  binaryType: string;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: Uint8Array): void;
  close(): void;
}

type PeerConnectionCtor = new (config: { iceServers: WebRtcOptions['iceServers'] }) => PeerConnection;

/** A signalling event of the core (core/include/nitro/signal.h). */
interface SignalEvent { t: string; h?: number; p?: string; d?: string; m?: string; c?: string }

const kChannel = 'rtc';
const kMaxConnectionsDefault = 16;
const kBufferedBytesMax = 16 << 20;
const kPendingCandidatesMax = 64;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** How an endpoint got its RTCPeerConnection; `release` runs when the endpoint closes. */
interface Implementation { Ctor: PeerConnectionCtor; release(): void }

// node-datachannel keeps native threads (and, for a channel whose close never completes, a handle
// that holds the event loop) until its global cleanup(). It also closes every connection in the
// process, so it runs only when the last endpoint using the library closes.
let datachannelUsers = 0;

async function loadImplementation(options: WebRtcOptions): Promise<Implementation> {
  const none = () => {};
  if (options.implementation) return { Ctor: options.implementation.RTCPeerConnection, release: none };
  const global = (globalThis as { RTCPeerConnection?: PeerConnectionCtor }).RTCPeerConnection;
  if (global) return { Ctor: global, release: none };
  if (!isNode) throw new NitroError('UNAVAILABLE', 'webrtc(): no RTCPeerConnection in this runtime');
  const [polyfill, library] = ['node-datachannel/polyfill', 'node-datachannel'];  // variables: bundlers for browsers leave them alone
  try {
    const mod = (await import(/* @vite-ignore */ polyfill)) as { RTCPeerConnection: PeerConnectionCtor };
    const lib = (await import(/* @vite-ignore */ library)) as { cleanup(): void };
    datachannelUsers += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--datachannelUsers === 0) lib.cleanup();
    };
    return { Ctor: mod.RTCPeerConnection, release };
  } catch (e) {
    throw new NitroError('UNAVAILABLE', `webrtc(): npm package 'node-datachannel' is needed under Node (${String(e)})`);
  }
}

interface Session {
  handle: number;
  peer: string;
  address: string;
  initiator: boolean;
  pc?: PeerConnection;
  channel?: DataChannel;
  remoteSet: boolean;
  candidates: Array<{ candidate: string; sdpMid?: string }>;
  open: boolean;
}

const now = (): number => Math.floor(performance.now());

class RtcEndpoint implements TransportInstance {
  readonly bootstrap: string[] = [];
  readonly signalling: { maxConnections: number; sessionTimeoutMs?: number };
  private node: TransportNode | undefined;
  private readonly sessions = new Map<number, Session>();
  private readonly byAddress = new Map<string, Session>();
  private closed = false;

  constructor(
    private readonly sink: TransportSink,
    private readonly Ctor: PeerConnectionCtor,
    private readonly release: () => void,
    readonly listenAddress: string,
    private readonly options: WebRtcOptions,
  ) {
    this.signalling = { maxConnections: options.maxConnections ?? kMaxConnectionsDefault, sessionTimeoutMs: options.sessionTimeoutMs };
  }

  bindNode(node: TransportNode): void {
    this.node = node;
    node.onProtocol(kChannel, (bytes) => this.onSignal(msgpackDecode(bytes) as SignalEvent));
  }

  // ---- the node's transport calls ------------------------------------------------------------

  dial(address: string): void {
    if (this.closed) return;
    this.hangup(address);
    const peer = address.startsWith('rtc:') ? address.slice(4) : '';
    const handle = peer ? this.core((core, nowMs) => getModule().signalDial(core, peer, nowMs)) : undefined;
    if (typeof handle !== 'number') {
      queueMicrotask(() => this.sink.closed(address));  // no signalling, the cap, or a bad address
      return;
    }
    this.track({ handle, peer, address, initiator: true, remoteSet: false, candidates: [], open: false });
  }

  send(address: string, bytes: Uint8Array): void {
    const channel = this.byAddress.get(address)?.channel;
    if (!channel || channel.readyState !== 'open') return;
    if (channel.bufferedAmount > (this.options.bufferedBytesMax ?? kBufferedBytesMax)) return;
    try {
      channel.send(bytes);
    } catch {
      // Above the channel's max-message-size (256 KiB in Chromium and libdatachannel): dropped like
      // any lost frame; the core copes.
    }
  }

  queuedBytes(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.channel?.bufferedAmount ?? 0;
    return n;
  }

  hangup(address: string): void {
    const session = this.byAddress.get(address);
    if (session) this.teardown(session, false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const session of [...this.sessions.values()]) this.teardown(session, false);
    this.release();
  }

  // ---- the core's signalling events ----------------------------------------------------------

  private onSignal(ev: SignalEvent): void {
    if (this.closed || typeof ev.h !== 'number') return;
    const session = this.sessions.get(ev.h);
    switch (ev.t) {
      case 'offer': return void this.makeOffer(session ?? this.track(this.outbound(ev.h, ev.p ?? '')));
      case 'accept': return void this.accept(this.track(this.inbound(ev.h, ev.p ?? '')), ev.d ?? '');
      case 'answer': return void (session && this.applyAnswer(session, ev.d ?? ''));
      case 'candidate': return void (session && this.addCandidate(session, { candidate: ev.d ?? '', sdpMid: ev.m || undefined }));
      case 'close': return void (session && this.teardown(session, true, false));
    }
  }

  private outbound(handle: number, peer: string): Session {
    return { handle, peer, address: `rtc:${peer}`, initiator: true, remoteSet: false, candidates: [], open: false };
  }

  private inbound(handle: number, peer: string): Session {
    return { handle, peer, address: `rtc-in:${peer}#${handle}`, initiator: false, remoteSet: false, candidates: [], open: false };
  }

  private track(session: Session): Session {
    this.sessions.set(session.handle, session);
    this.byAddress.set(session.address, session);
    return session;
  }

  private connection(session: Session): PeerConnection {
    const pc = new this.Ctor({ iceServers: this.options.iceServers ?? [] });
    session.pc = pc;
    pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      if (!c || !c.candidate || !this.live(session)) return;
      this.core((core, nowMs) => getModule().signalLocal(core, session.handle, 'candidate', c.candidate, c.sdpMid ?? '', nowMs));
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.teardown(session, true);
    };
    return pc;
  }

  private async makeOffer(session: Session): Promise<void> {
    try {
      const pc = this.connection(session);
      this.wire(session, pc.createDataChannel('nitro', { ordered: true }));
      await pc.setLocalDescription(await pc.createOffer());
      this.sendLocal(session, 'offer', pc.localDescription?.sdp ?? '');
    } catch {
      this.teardown(session, true);
    }
  }

  private async accept(session: Session, sdp: string): Promise<void> {
    try {
      const pc = this.connection(session);
      pc.ondatachannel = (ev) => this.wire(session, ev.channel);
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await this.remoteSet(session);
      await pc.setLocalDescription(await pc.createAnswer());
      this.sendLocal(session, 'answer', pc.localDescription?.sdp ?? '');
    } catch {
      this.teardown(session, true);
    }
  }

  private async applyAnswer(session: Session, sdp: string): Promise<void> {
    try {
      await session.pc?.setRemoteDescription({ type: 'answer', sdp });
      await this.remoteSet(session);
    } catch {
      this.teardown(session, true);
    }
  }

  // Candidates that arrive before the remote description wait for it (bounded).
  private async addCandidate(session: Session, c: { candidate: string; sdpMid?: string }): Promise<void> {
    if (!session.remoteSet) {
      if (session.candidates.length < kPendingCandidatesMax) session.candidates.push(c);
      return;
    }
    await session.pc?.addIceCandidate(c).catch(() => {});  // a bad candidate is just not used
  }

  private async remoteSet(session: Session): Promise<void> {
    session.remoteSet = true;
    for (const c of session.candidates.splice(0)) await session.pc?.addIceCandidate(c).catch(() => {});
  }

  private sendLocal(session: Session, kind: 'offer' | 'answer', sdp: string): void {
    if (!this.live(session)) return;
    const result = this.core((core, nowMs) => getModule().signalLocal(core, session.handle, kind, sdp, '', nowMs));
    if (result !== undefined) this.teardown(session, true);  // refused by the core (e.g. an odd SDP)
  }

  private wire(session: Session, channel: DataChannel): void {
    session.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.onopen = () => this.markOpen(session);
    channel.onmessage = (ev) => {
      // The peer's first frame can beat our own 'open' event: the channel is open if it carries data.
      if (!session.open) this.markOpen(session);
      if (!session.open || !this.live(session)) return;
      const data = ev.data;
      if (data instanceof ArrayBuffer) this.sink.frame(session.address, new Uint8Array(data));
      else if (data instanceof Uint8Array) this.sink.frame(session.address, data);
    };
    channel.onclose = () => this.teardown(session, true);
    channel.onerror = () => this.teardown(session, true);
    if (channel.readyState === 'open') this.markOpen(session);
  }

  private markOpen(session: Session): void {
    if (!this.live(session) || session.open) return;
    session.open = true;
    this.core((core, nowMs) => getModule().signalOpened(core, session.handle, nowMs));
    this.sink.opened(session.address, session.initiator);
  }

  // ---- teardown ----------------------------------------------------------------------------

  private live(session: Session): boolean {
    return !this.closed && this.sessions.get(session.handle) === session;
  }

  /**
   * Forgets a session: closes its objects, tells the core (unless the core ended it), and reports
   * the transport closed if the node knows it (open, or an outbound dial still pending).
   */
  private teardown(session: Session, report: boolean, tellCore = true): void {
    if (this.sessions.get(session.handle) !== session) return;
    this.sessions.delete(session.handle);
    if (this.byAddress.get(session.address) === session) this.byAddress.delete(session.address);
    const { channel, pc } = session;
    session.channel = session.pc = undefined;
    if (channel) channel.onopen = channel.onmessage = channel.onclose = channel.onerror = null;
    if (pc) pc.onicecandidate = pc.ondatachannel = pc.onconnectionstatechange = null;
    try { channel?.close(); } catch { /* already closed */ }
    try { pc?.close(); } catch { /* already closed */ }
    if (tellCore) this.core((core, nowMs) => getModule().signalClosed(core, session.handle, nowMs));
    if (report && !this.closed && (session.open || session.initiator)) this.sink.closed(session.address);
  }

  /** Calls into the core through the node (which drains it afterwards); undefined once it is gone. */
  private core<T>(fn: (core: unknown, nowMs: number) => T): T | undefined {
    if (!this.node) return undefined;
    try {
      return this.node.run((core) => fn(core, now()));
    } catch {
      return undefined;  // the node is closed
    }
  }
}

/**
 * The WebRTC transport: direct data channels to peers, signalled through the overlay (any linked
 * node relays; no signalling server). Pair it with a transport that joins the overlay first, e.g.
 * `transport: [websocket({ url }), webrtc()]`; the node then upgrades to direct channels with the
 * peers its membership and RPC reach for, up to `maxConnections`.
 */
export function webrtc(options: WebRtcOptions = {}): Transport {
  return {
    kind: 'webrtc',
    async open(sink, context) {
      if (!context.id) throw new NitroError('INVALID_ARGUMENT', 'webrtc(): the node id is needed (use createNode)');
      const { Ctor, release } = await loadImplementation(options);
      return new RtcEndpoint(sink, Ctor, release, `rtc:${context.id}`, options);
    },
  };
}

/** Signalling counters of a node (core SignalStats): sessions, relaying, and refused input by cause. */
export interface SignalStats {
  dialed: number; accepted: number; opened: number; closed: number; timedOut: number;
  signalsSent: number; signalsReceived: number; relayed: number; relayUnroutable: number;
  refusedDecode: number; refusedInvalid: number; refusedUnknownSession: number; refusedFlood: number;
  refusedForged: number; refusedDisabled: number;
  /** Sessions now (pending + open) and open ones. */
  sessions: number; open: number;
}

/**
 * Attaches the core's signalling protocol to a node: every node relays signals for its linked
 * peers; with `settings` (a webrtc() transport) it also makes and accepts WebRTC sessions.
 */
export function attachSignalling(node: TransportNode, settings?: { maxConnections: number; sessionTimeoutMs?: number }): void {
  const opts = { webrtc: settings !== undefined, ...settings };
  node.run((core) => unwrap(getModule().signalAttach(core, opts)));
}

/** The node's signalling counters. */
export function signalStats(node: TransportNode): SignalStats {
  return node.run((core) => getModule().signalStats(core)) as SignalStats;
}

/**
 * Calls `fn` with a typed error for each signalling input the core refused (malformed SDP:
 * INVALID_ARGUMENT, unknown session: NOT_FOUND, floods: RESOURCE_EXHAUSTED, forged origin:
 * PERMISSION_DENIED, garbage: DECODE_ERROR, no WebRTC here: UNIMPLEMENTED). Reports are rate
 * limited by the core; signalStats() counts every refusal.
 */
export function onSignalRefused(node: TransportNode, fn: (error: NitroError, peer: string) => void): () => void {
  return node.onProtocol(kChannel, (bytes) => {
    const ev = msgpackDecode(bytes) as SignalEvent;
    if (ev.t === 'refused') fn(errorFor((ev.c ?? 'UNKNOWN') as ErrorCode, ev.m ?? ''), ev.p ?? '');
  });
}
