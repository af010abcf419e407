// Presence (awareness, as Yjs's y-protocols/awareness): ephemeral per-peer state for a document,
// such as a cursor and a name, over the node. The protocol is the core's nitro::Presence
// (core/include/nitro/presence.h: publishing, renewal, timeouts, removal on close); this layer
// encodes states (msgpack), reads them back and re-emits the core's 'change' events.
//
// The protocol's code ships in nitro-bls.wasm (cmake/wasm.cmake). Where that is not loaded yet (a
// page that has not called loadBls()), node.presence() loads it and runs the core calls once it is
// in, in order; until then getStates() holds this node's own state only, and an error of a deferred
// call goes to the node's 'error' event.
import { codec, type NitroValue } from './codec.js';
import { NitroError, unwrap } from './errors.js';
import { Evented, type PayloadEvents } from './events.js';
import type { NitroNode } from './host/node.js';
import { blsUsable, getModule, loadBls } from './wasm.js';

export const kPresenceChannel = 'presence';

/** Peer ids whose state appeared, changed or went away (timed out or removed). */
export interface PresenceChange {
  added: string[];
  updated: string[];
  removed: string[];
  /** 'local' when only this node's own state changed, else 'remote' (peers, their removals and timeouts). */
  origin: 'local' | 'remote';
}

export interface PresenceEvents {
  change: PresenceChange;
}

/** Timers of a node's presence protocol; the first node.presence() call of a node sets them. */
export interface PresenceOptions {
  /** This node re-publishes its state this often (default 10000 ms). */
  renewMs?: number;
  /** A peer's state not renewed for this long is dropped (default 30000 ms; > renewMs). */
  timeoutMs?: number;
}

// One node's presence: its rooms by document, and the core calls waiting for the code to load.
class Hub {
  readonly rooms = new Map<string, Presence>();
  #pending: Promise<void> | undefined;

  constructor(private readonly node: NitroNode) {}

  /** Runs `call` now if the protocol's code is in and nothing waits before it, else after those. */
  run(call: () => void): void {
    if (!this.#pending && blsUsable()) return call();
    const next: Promise<void> = (this.#pending ?? loadBls()).then(() => {
      if (!this.node.closed) call();
    }).catch((e: unknown) => this.node.reportError(e instanceof Error ? e : new Error(String(e))));
    this.#pending = next;
    void next.then(() => { if (this.#pending === next) this.#pending = undefined; });
  }

  /** Whether the core holds this node's presence state (no call waiting). */
  get live(): boolean {
    return !this.#pending && blsUsable();
  }
}

const hubs = new WeakMap<NitroNode, Hub>();

/** node.presence(doc): this node's presence for a document (the same object per name). */
export function openPresence<S extends NitroValue = NitroValue>(node: NitroNode, doc: string, options: PresenceOptions = {}): Presence<S> {
  let hub = hubs.get(node);
  if (!hub) {
    const h = new Hub(node);
    hubs.set(node, (hub = h));
    h.run(() => node.run((core) => unwrap(getModule().presenceAttach(core, { renewMs: options.renewMs, timeoutMs: options.timeoutMs }))));
    const map = h.rooms;
    node.onProtocol(kPresenceChannel, (bytes) => {
      const ev = codec.decode(bytes) as { type: string; doc: string; added: string[]; updated: string[]; removed: string[] };
      if (ev.type === 'change') map.get(ev.doc)?.onChange(ev);
    });
    // A closing node says goodbye: peers drop its states at once instead of after the timeout.
    node.beforeClose(() => {
      for (const p of [...map.values()]) p.close();
    });
  }
  const rooms = hub.rooms;
  let p = rooms.get(doc);
  if (!p) {
    p = new Presence(node, hub, doc, () => rooms.delete(doc));
    rooms.set(doc, p);
  }
  return p as unknown as Presence<S>;
}

/** Events: 'change' ({ added, updated, removed, origin }), typed on/off/once (events.ts). */
export class Presence<S extends NitroValue = NitroValue> extends Evented<PayloadEvents<PresenceEvents>> {
  #local: S | null = null;
  #closed = false;

  /** @internal Use node.presence(doc) or doc.awareness. */
  constructor(private readonly node: NitroNode, private readonly hub: Hub, readonly doc: string, private readonly forget: () => void) {
    super();
    if (typeof doc !== 'string' || doc.length === 0) throw new NitroError('INVALID_ARGUMENT', 'a document name is a non-empty string');
    hub.run(() => node.run((core) => unwrap(getModule().presenceOpen(core, doc))));
  }

  /** This node's id: the key of its own entry in getStates(). */
  get clientId(): string {
    return this.node.id;
  }

  /** Publishes this node's state (any Nitro value, at most 16 KiB encoded); null removes it. */
  setLocalState(state: S | null): void {
    if (this.#closed) throw new NitroError('FAILED_PRECONDITION', 'presence is closed');
    const bytes = state === null ? null : codec.encode(state);
    this.hub.run(() => this.node.run((core) => unwrap(getModule().presenceSet(core, this.doc, bytes))));
    this.#local = state;
  }

  /** Sets one field of an object state (Yjs's setLocalStateField). */
  setLocalStateField(field: string, value: NitroValue): void {
    const base = (this.#local && typeof this.#local === 'object' && !Array.isArray(this.#local) && !(this.#local instanceof Uint8Array) ? this.#local : {}) as Record<string, NitroValue>;
    this.setLocalState({ ...base, [field]: value } as unknown as S);
  }

  getLocalState(): S | null {
    return this.#local;
  }

  /** Every known state by peer id, this node's own included. */
  getStates(): Map<string, S> {
    const out = new Map<string, S>();
    if (this.#closed || this.node.closed) return out;
    if (!this.hub.live) {  // the protocol's code is still loading: only this node's state is known
      if (this.#local !== null) out.set(this.node.id, this.#local);
      return out;
    }
    const pairs = this.node.run((core) => getModule().presenceStates(core, this.doc)) as Array<[string, Uint8Array]> | undefined;
    for (const [peer, bytes] of pairs ?? []) out.set(peer, codec.decode(bytes) as S);
    return out;
  }

  /** Removes this node's state (peers see it go at once) and stops listening. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.forget();
    this.hub.run(() => { if (!this.node.closed) this.node.run((core) => getModule().presenceClose(core, this.doc)); });
    this.closeEvents('presence');
  }
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** @internal */
  onChange(ev: { added: string[]; updated: string[]; removed: string[] }): void {
    const self = this.node.id;
    const local = [...ev.added, ...ev.updated, ...ev.removed].every((id) => id === self);
    this.emit('change', { added: ev.added, updated: ev.updated, removed: ev.removed, origin: local ? 'local' : 'remote' });
  }
}
