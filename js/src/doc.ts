// CRDT documents (standalone, no node needed): `new Doc()` with named shared types. The core
// (C++/wasm) does the work; this layer maps calls to it, turns error codes into NitroErrors and
// emits 'update' events with the caller's origin. Positions are UTF-16 indices, like JS strings.
import { NitroError, errorFor, unwrap, type ErrorCode } from './errors.js';
import type { NitroValue } from './codec.js';
import type { Presence } from './presence.js';
import { randomSafeInteger } from './random.js';
import { getModule } from './wasm.js';
import { Evented, type OnceOptions } from './events.js';

/** The wasm-side document (bindings/crdt.cpp). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Core = Record<string, any>;

export type UpdateListener = (update: Uint8Array, origin: unknown) => void;

/** The transaction an event belongs to: its origin (as given to transact/applyUpdate) and whether it was made here. */
export interface Transaction {
  readonly origin: unknown;
  readonly local: boolean;
}
/** One step of a text delta (Quill's shape, as Yjs's YTextEvent.delta). */
export type TextDelta = { insert: string } | { retain: number } | { delete: number };
/** One step of a list delta (as Yjs's YArrayEvent.delta); nested shared types as their JSON. */
export type ListDelta = { insert: NitroValue[] } | { retain: number } | { delete: number };
/** How a map key changed in one transaction; oldValue is its value before (update, delete). */
export interface KeyChange {
  action: 'add' | 'update' | 'delete';
  oldValue?: NitroValue;
}
/** A path from an observeDeep target down to a changed type: map keys and list indices. */
export type Path = Array<string | number>;

/** What one transaction changed in one shared type. */
export class SharedEvent<T extends SharedType = SharedType> {
  /** The type observeDeep is running for (the target itself for observe). */
  currentTarget: SharedType;
  /** @internal */
  constructor(
    readonly target: T,
    readonly transaction: Transaction,
    /** Text and List: the delta; empty for other types. */
    readonly delta: Array<TextDelta | ListDelta>,
    /** Map: changed keys. */
    readonly keys: Map<string, KeyChange>,
    private readonly chain: Array<{ type: SharedType; step: string | number | undefined }>,
  ) {
    this.currentTarget = target;
  }
  /** Yjs's event.changes: { delta, keys }. */
  get changes(): { delta: Array<TextDelta | ListDelta>; keys: Map<string, KeyChange> } {
    return { delta: this.delta, keys: this.keys };
  }
  /** Map keys that changed (Yjs's keysChanged). */
  get keysChanged(): Set<string> {
    return new Set(this.keys.keys());
  }
  /** The path from currentTarget down to target. */
  get path(): Path {
    const out: Path = [];
    for (const link of this.chain) {
      if (link.type === this.currentTarget) return out.reverse();
      if (link.step !== undefined) out.push(link.step);
    }
    return out.reverse();
  }
}
export type TextEvent = SharedEvent<SharedText> & { readonly delta: TextDelta[] };
export type ListEvent = SharedEvent<SharedList> & { readonly delta: ListDelta[] };
export type MapEvent = SharedEvent<SharedMap>;
export type Observer<E> = (event: E, transaction: Transaction) => void;
export type DeepObserver = (events: SharedEvent[], transaction: Transaction) => void;

/**
 * A cursor anchor that survives concurrent edits; plain JSON, so it can be sent to other replicas.
 * A type alias (not an interface) so that it is a NitroValue: presence states and maps hold it.
 */
export type RelativePosition = {
  /** The anchored unit (absent: the start for assoc < 0, the end for assoc >= 0). */
  client?: number;
  clock?: number;
  /** >= 0: the unit right of the cursor; < 0: the unit left of it. */
  assoc: number;
};

/** @internal A run a transaction inserted or removed, as the core reports it. */
export interface ChangedRun {
  type: number;
  client: number;
  clock: number;
  len: number;
  key?: string;
  text?: Uint16Array;
  values?: NitroValue[];
}
/** @internal The core's record of one transaction. */
export interface CoreChanges {
  local: boolean;
  types: Array<{ type: number; delta: Array<{ insert?: Uint16Array | NitroValue[]; retain?: number; delete?: number }>; keys: Array<{ key: string; action: KeyChange['action']; oldValue?: NitroValue }> }>;
  inserted: ChangedRun[];
  removed: ChangedRun[];
}
/** @internal Listener for a transaction's raw changes (the UndoManager). */
export type ChangesListener = (changes: CoreChanges, transaction: Transaction) => void;

/** UTF-16 units to a string, lone surrogates kept. */
export function unitsToString(units: Uint16Array): string {
  let out = '';
  for (let i = 0; i < units.length; i += 4096) out += String.fromCharCode(...units.subarray(i, i + 4096));
  return out;
}

/** Kinds of shared types that can be nested in a SharedMap or SharedList. */
export type SharedKind = 'text' | 'list' | 'map' | 'counter' | 'set';
const kindNames: SharedKind[] = ['text', 'list', 'map', 'counter', 'set'];
export type SharedType = SharedText | SharedList | SharedMap | SharedCounter | SharedSet;

export interface DocOptions {
  /** Replica id (< 2^53); random when omitted. Ignored when `signer` is given. */
  clientId?: number;
  /**
   * Signs every local transaction: a node `Identity`, or key bytes (a 32-byte Ed25519 seed or
   * libsodium's 64-byte secret key). The replica id then derives from the public key.
   */
  signer?: Uint8Array | { exportSeed(): Uint8Array };
  /** Accept only updates signed by these 32-byte public keys. */
  writers?: Uint8Array[];
}

const registry = new FinalizationRegistry<Core>((core) => core.delete());

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A position or count: a non-negative integer (the core checks the upper bound). */
function idx(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw errorFor('INVALID_ARGUMENT', `expected a non-negative integer, got ${n}`);
  return n;
}

/**
 * Doc events: 'update' carries an encoded update and the origin its transaction was given;
 * 'synced' fires once, when a replicated Doc has caught up with at least one peer (see `synced`).
 */
export interface DocEvents {
  update: [update: Uint8Array, origin: unknown];
  synced: [];
}

export class Doc extends Evented<DocEvents> {
  /** @internal */ readonly core: Core;
  #depth = 0;
  #destroyed = false;
  #origin: unknown = null;
  #types = new Map<string, unknown>();
  #byName = new Map<string, unknown>();
  #beforeDestroy: Array<() => void> = [];
  #observing = 0;  // observers, deep observers and change listeners: while > 0 the core reports changes
  #changeListeners = new Set<ChangesListener>();
  #synced = false;
  #syncedPromise: Promise<void> | undefined;
  /** @internal Set by node.doc(): the node's presence for this document. */
  presenceFactory: (() => Presence) | undefined;

  constructor(options: DocOptions = {}) {
    super();
    const m = getModule();
    this.core = new m.CrdtDoc(options.clientId ?? randomSafeInteger());
    registry.register(this, this.core, this);
    if (options.signer) {
      const key = options.signer instanceof Uint8Array ? options.signer : options.signer.exportSeed();
      this.check(this.core.setSigner(key));
    }
    if (options.writers) this.check(this.core.restrictWriters(options.writers));
  }

  get clientId(): number {
    return this.core.clientId();
  }

  getText(name: string): SharedText {
    return this.type('text', name, (h) => new SharedText(this, h));
  }
  getList(name: string): SharedList {
    return this.type('list', name, (h) => new SharedList(this, h));
  }
  getMap(name: string): SharedMap {
    return this.type('map', name, (h) => new SharedMap(this, h));
  }
  getCounter(name: string): SharedCounter {
    return this.type('counter', name, (h) => new SharedCounter(this, h));
  }
  getSet(name: string): SharedSet {
    return this.type('set', name, (h) => new SharedSet(this, h));
  }

  /** Runs fn as one transaction: its edits become one update, emitted with `origin`. */
  transact<T>(fn: () => T, origin: unknown = null): T {
    if (this.#depth === 0) this.#origin = origin;
    this.#depth++;
    this.core.begin();
    try {
      return fn();
    } finally {
      this.core.commit();
      if (--this.#depth === 0) this.flush();
    }
  }

  /** The whole document as one update. */
  encodeState(): Uint8Array {
    return this.core.encodeState();
  }
  /** What this replica has: pass to another replica's encodeStateAsUpdate. */
  encodeStateVector(): Uint8Array {
    return this.core.encodeStateVector();
  }
  /** The update a replica with `vector` lacks (everything when omitted). */
  encodeStateAsUpdate(vector?: Uint8Array): Uint8Array {
    if (!vector) return this.encodeState();
    return unwrap<Uint8Array>(this.core.encodeStateAsUpdate(vector));
  }
  /**
   * Applies a remote update (any order, duplicates are harmless). Throws DecodeError for
   * malformed bytes, PERMISSION_DENIED / UNAUTHENTICATED for refused writers; the document is
   * then unchanged. Emits 'update' with `origin` when something new was accepted.
   */
  applyUpdate(update: Uint8Array, origin: unknown = null): void {
    if (!(update instanceof Uint8Array)) throw new TypeError('applyUpdate expects a Uint8Array');
    if (this.#depth > 0) throw new NitroError('FAILED_PRECONDITION', 'applyUpdate inside a transaction');
    this.check(this.core.applyUpdate(update));
    const failure = this.dispatchChanges(origin);
    if (this.core.changed()) this.emit('update', update, origin);
    if (failure) throw failure.error;
  }

  // The core records updates only while someone listens for them.
  protected override listenersChanged(event: keyof DocEvents, count: number): void {
    if (event === 'update' && !this.#destroyed) this.core.setCapture(count > 0);
  }

  /**
   * Resolves once this replica has caught up with at least one peer: state vectors exchanged and
   * the peer's delta applied (distinct from `replica.ready`, loaded from the store). A standalone
   * Doc (no node) never syncs by itself; markSynced() is for hosts that sync it another way.
   */
  get synced(): Promise<void> {
    if (!this.#syncedPromise) {
      this.#syncedPromise = this.#synced ? Promise.resolve() : this.once('synced').then(() => {});
      this.#syncedPromise.catch(() => {});  // a Doc destroyed unsynced rejects only its awaiters
    }
    return this.#syncedPromise;
  }
  /** Same as `synced`, rejecting with a CancelledError when `signal` aborts first. */
  whenSynced(options: Pick<OnceOptions<[]>, 'signal'> = {}): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (!options.signal) return this.synced;
    return this.once('synced', { signal: options.signal }).then(() => {});
  }
  get isSynced(): boolean {
    return this.#synced;
  }
  /** @internal Marks the replica caught up (the node's sync protocol calls it). */
  markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    this.emit('synced');
  }

  /**
   * Presence (awareness) of this document's peers: `doc.awareness.setLocalState({ cursor })`.
   * Only for documents from node.doc(name) (the same as node.presence(name)); FAILED_PRECONDITION otherwise.
   */
  get awareness(): Presence {
    if (!this.presenceFactory) throw new NitroError('FAILED_PRECONDITION', 'awareness needs a document from node.doc(name)');
    return this.presenceFactory();
  }

  /** Frees the wasm memory now instead of at garbage collection (a replicated Doc stops syncing first). */
  destroy(): void {
    if (this.#destroyed) return;
    for (const fn of this.#beforeDestroy.splice(0)) fn();
    this.#destroyed = true;
    this.closeEvents('document');
    for (const t of this.#types.values()) (t as SharedType).closeType();
    registry.unregister(this);
    this.core.delete();
  }

  /** @internal Emits 'update' for an update a node's sync protocol applied to this Doc in the core. */
  emitApplied(update: Uint8Array, origin: unknown): void {
    const failure = this.dispatchChanges(origin);
    this.emit('update', update, origin);
    if (failure) throw failure.error;
  }

  // ---- observing --------------------------------------------------------------------------

  /** @internal Counts an observer in or out: the core reports changes only while there is one. */
  observing(delta: 1 | -1): void {
    this.#observing += delta;
    if (this.#destroyed) return;
    if (this.#observing === 1 && delta === 1) this.core.setObserve(true);
    if (this.#observing === 0) this.core.setObserve(false);
  }
  /** @internal Raw changes of every transaction (the UndoManager builds on them). */
  onChanges(fn: ChangesListener): () => void {
    this.#changeListeners.add(fn);
    this.observing(1);
    return () => {
      if (this.#changeListeners.delete(fn)) this.observing(-1);
    };
  }

  /**
   * @internal Delivers the changes the core queued, as events on their types. An observer that
   * throws stops neither the others, nor the UndoManager, nor the 'update' its caller emits next:
   * the first error is returned for the caller to rethrow once all of that ran.
   */
  dispatchChanges(origin: unknown): { error: unknown } | undefined {
    if (this.#observing === 0) return undefined;
    const records = this.core.takeChanges() as CoreChanges[] | null;
    let failure: { error: unknown } | undefined;
    const guard = (fn: () => void): void => {
      try {
        fn();
      } catch (error) {
        failure ??= { error };
      }
    };
    for (const rec of records ?? []) this.dispatchOne(rec, { origin, local: rec.local }, guard);
    return failure;
  }

  private dispatchOne(rec: CoreChanges, transaction: Transaction, guard: (fn: () => void) => void): void {
    const events: SharedEvent[] = [];
    for (const t of rec.types) {
      const target = this.nested(t.type);
      const text = target instanceof SharedText;
      const delta = t.delta.map((op) => {
        if (op.retain !== undefined) return { retain: op.retain };
        if (op.delete !== undefined) return { delete: op.delete };
        return { insert: text ? unitsToString(op.insert as Uint16Array) : (op.insert as NitroValue[]) };
      }) as Array<TextDelta | ListDelta>;
      const keys = new Map<string, KeyChange>();
      for (const k of t.keys) keys.set(k.key, k.oldValue === undefined ? { action: k.action } : { action: k.action, oldValue: k.oldValue });
      events.push(new SharedEvent(target, transaction, delta, keys, this.chainOf(target)));
    }
    for (const ev of events) guard(() => ev.target.emitEvent(ev));
    const deep = new Map<SharedType, SharedEvent[]>();
    for (const ev of events) {
      for (const link of this.chainOf(ev.target)) {
        if (!link.type.hasDeepObservers()) continue;
        let list = deep.get(link.type);
        if (!list) deep.set(link.type, (list = []));
        list.push(ev);
      }
    }
    for (const [type, list] of deep) guard(() => type.emitDeep(list, transaction));
    for (const fn of [...this.#changeListeners]) guard(() => fn(rec, transaction));
  }

  /** @internal The type and its ancestors, each with its step (key or index) in its parent. */
  chainOf(type: SharedType): Array<{ type: SharedType; step: string | number | undefined }> {
    const out: Array<{ type: SharedType; step: string | number | undefined }> = [];
    let t: SharedType | undefined = type;
    for (let depth = 0; t && depth <= 33; depth++) {
      const p = this.core.parentOf(t.typeId) as { parent: number; key?: string; index?: number } | null;
      out.push({ type: t, step: p ? (p.key ?? p.index) : undefined });
      t = p ? this.nested(p.parent) : undefined;
    }
    return out;
  }

  /** @internal Runs `fn` before destroy() frees the core (a sync protocol borrowing it detaches). */
  beforeDestroy(fn: () => void): void {
    this.#beforeDestroy.push(fn);
  }

  /** @internal Runs one edit: in the open transaction, or as its own. */
  edit(rc: number): void {
    this.check(rc);
    if (this.#depth === 0 && (this.listenerCount('update') > 0 || this.#observing > 0)) this.flush();
  }
  /** @internal */
  check(rc: number): void {
    if (rc !== 0) {
      const e = this.core.lastError() as { code: ErrorCode; message: string };
      throw errorFor(e.code, e.message);
    }
  }

  /** @internal */
  private flush(): void {
    const updates: Uint8Array[] | null = this.core.takeUpdates();
    const origin = this.#origin;
    this.#origin = null;
    const failure = this.dispatchChanges(origin);
    for (const u of updates ?? []) this.emit('update', u, origin);
    if (failure) throw failure.error;
  }

  /** @internal Wraps a packed nested-type result (kind << 24 | handle); throws on an error code. */
  nested(packed: number): SharedType {
    if (packed < 0) this.check(-packed);
    const kind = kindNames[packed >>> 24]!;
    const h = packed & 0xffffff;
    const key = `#${kind}:${h}`;
    let t = this.#types.get(key) as SharedType | undefined;
    if (!t) {
      const make = { text: SharedText, list: SharedList, map: SharedMap, counter: SharedCounter, set: SharedSet }[kind];
      t = new make(this, h);
      this.#types.set(key, t);
    }
    return t;
  }
  /** @internal */
  kindIndex(kind: SharedKind): number {
    const i = kindNames.indexOf(kind);
    if (i < 0) throw errorFor('INVALID_ARGUMENT', `unknown shared type kind '${String(kind)}'`);
    return i;
  }

  /** @internal Root types share the handle cache with nested ones, so events find the same object. */
  private type<T>(kind: SharedKind, name: string, make: (handle: number) => T): T {
    if (typeof name !== 'string') throw new TypeError('a shared type name is a string');
    const key = `${kind}:${name}`;
    let t = this.#byName.get(key) as T | undefined;
    if (!t) {
      const h = this.core[kind](name) as number;
      const handleKey = `#${kind}:${h}`;
      t = (this.#types.get(handleKey) as T | undefined) ?? make(h);
      this.#types.set(handleKey, t);
      this.#byName.set(key, t);
    }
    return t;
  }
}

/**
 * Events of a shared type: 'change' after every transaction that changed it (local or remote),
 * 'deepChange' with the events of it and every type nested in it, once per transaction.
 * `observe`/`observeDeep` are Yjs's names for `on('change')`/`on('deepChange')`.
 */
export interface SharedTypeEvents<E extends SharedEvent = SharedEvent> {
  change: [event: E, transaction: Transaction];
  deepChange: [events: SharedEvent[], transaction: Transaction];
}

/** What every shared type has: its document, observers and deep observers. */
abstract class SharedBase<E extends SharedEvent> extends Evented<SharedTypeEvents<E>> {
  #typeId: number | undefined;
  #counted = { change: 0, deepChange: 0 };  // listeners the Doc was told about
  /** @internal */ readonly doc: Doc;
  /** @internal */ protected readonly h: number;
  /** @internal */ private readonly kindIndex: number;
  /** @internal */
  constructor(doc: Doc, h: number, kindIndex: number) {
    super();
    this.doc = doc;
    this.h = h;
    this.kindIndex = kindIndex;
  }

  /** @internal The core's id of this type. */
  get typeId(): number {
    this.#typeId ??= this.doc.core.typeId(this.kindIndex, this.h) as number;
    return this.#typeId;
  }

  /** Calls fn after every transaction that changed this type (local or remote); returns its off. */
  observe(fn: (event: E, transaction: Transaction) => void): () => void {
    return this.on('change', fn);
  }
  unobserve(fn: (event: E, transaction: Transaction) => void): void {
    this.off('change', fn);
  }
  /** Calls fn with the events of this type and every type nested in it, once per transaction. */
  observeDeep(fn: DeepObserver): () => void {
    return this.on('deepChange', fn);
  }
  unobserveDeep(fn: DeepObserver): void {
    this.off('deepChange', fn);
  }

  // The Doc asks the core for changes only while some type is observed.
  protected override listenersChanged(event: keyof SharedTypeEvents<E>, count: number): void {
    for (; this.#counted[event] < count; this.#counted[event]++) this.doc.observing(1);
    for (; this.#counted[event] > count; this.#counted[event]--) this.doc.observing(-1);
  }

  /** @internal */
  emitEvent(ev: SharedEvent): void {
    ev.currentTarget = ev.target;
    this.emit('change', ev as E, ev.transaction);
  }
  /** @internal */
  hasDeepObservers(): boolean {
    return this.listenerCount('deepChange') > 0;
  }
  /** @internal */
  emitDeep(events: SharedEvent[], transaction: Transaction): void {
    for (const ev of events) ev.currentTarget = this as unknown as SharedType;
    this.emit('deepChange', events, transaction);
  }
  /** @internal The document was destroyed: pending once() calls reject, listeners go. */
  closeType(): void {
    this.closeEvents('document');
  }
}

/** Text and List: cursor anchors that survive concurrent edits. */
abstract class SharedSequence<E extends SharedEvent> extends SharedBase<E> {
  /** A position anchored to the unit right of `index` (assoc >= 0, default) or left of it (assoc < 0). */
  relativePosition(index: number, assoc = 0): RelativePosition {
    const r = unwrap<RelativePosition>(this.doc.core.relativePosition(this.typeId, idx(index), assoc < 0 ? -1 : 0));
    return r.client === undefined ? { assoc: r.assoc } : { client: r.client, clock: r.clock, assoc: r.assoc };
  }
  /** The index a relative position points at now, or null when its anchor is not known here. */
  resolveRelativePosition(pos: RelativePosition): number | null {
    if (typeof pos !== 'object' || pos === null) throw errorFor('INVALID_ARGUMENT', 'a relative position is an object');
    const n = this.doc.core.resolve(this.typeId, pos) as number;
    return n < 0 ? null : n;
  }
}

export class SharedText extends SharedSequence<TextEvent> {
  /** @internal */
  constructor(doc: Doc, h: number) {
    super(doc, h, 0);
  }
  insert(pos: number, text: string): void {
    const s = String(text);
    const core = this.doc.core;
    if (s.length === 1) {
      this.doc.edit(core.textInsertUnit(this.h, idx(pos), s.charCodeAt(0)));
    } else if (loneSurrogate.test(s)) {
      // UTF-8 marshalling would pair a lone surrogate with its neighbour: send units one by one
      this.doc.transact(() => {
        for (let k = 0; k < s.length; k++) this.doc.edit(core.textInsertUnit(this.h, idx(pos) + k, s.charCodeAt(k)));
      });
    } else {
      this.doc.edit(core.textInsert(this.h, idx(pos), s));
    }
  }
  delete(pos: number, length: number): void {
    this.doc.edit(this.doc.core.textDelete(this.h, idx(pos), idx(length)));
  }
  get length(): number {
    return this.doc.core.textLength(this.h);
  }
  /** The text; a lone surrogate (half of a pair inserted alone) reads as U+FFFD. */
  toString(): string {
    return this.doc.core.textToString(this.h);
  }
  toJSON(): string {
    return this.toString();
  }
}

export class SharedList extends SharedSequence<ListEvent> {
  /** @internal */
  constructor(doc: Doc, h: number) {
    super(doc, h, 1);
  }
  insert(index: number, values: NitroValue[]): void {
    this.doc.edit(this.doc.core.listInsert(this.h, idx(index), values));
  }
  push(...values: NitroValue[]): void {
    this.insert(this.length, values);
  }
  delete(index: number, count = 1): void {
    this.doc.edit(this.doc.core.listDelete(this.h, idx(index), idx(count)));
  }
  /** The value at index; a nested shared type comes back as its SharedText/SharedMap/... */
  get(index: number): NitroValue | SharedType {
    const packed: number = this.doc.core.listGetType(this.h, idx(index));
    if (packed >= 0) return this.doc.nested(packed);
    return this.doc.core.listGet(this.h, idx(index));
  }
  /** Inserts a new, empty nested shared type at index and returns it. */
  insertType<K extends SharedKind>(index: number, kind: K): KindMap[K] {
    const packed: number = this.doc.core.listInsertType(this.h, idx(index), this.doc.kindIndex(kind));
    const t = this.doc.nested(packed);
    this.doc.edit(0);
    return t as KindMap[K];
  }
  get length(): number {
    return this.doc.core.listLength(this.h);
  }
  /** Elements, alias of length (as Map's size). */
  get size(): number {
    return this.length;
  }
  /** Plain values; nested shared types as their JSON. */
  toArray(): NitroValue[] {
    return this.doc.core.listToArray(this.h);
  }
  toJSON(): NitroValue[] {
    return this.toArray();
  }
  /** Elements in order; nested shared types as their SharedText/SharedMap/... */
  *[Symbol.iterator](): IterableIterator<NitroValue | SharedType> {
    const n = this.length;
    for (let i = 0; i < n && i < this.length; i++) yield this.get(i);
  }
  forEach(fn: (value: NitroValue | SharedType, index: number, list: SharedList) => void): void {
    let i = 0;
    for (const v of this) fn(v, i++, this);
  }
  map<T>(fn: (value: NitroValue | SharedType, index: number, list: SharedList) => T): T[] {
    const out: T[] = [];
    let i = 0;
    for (const v of this) out.push(fn(v, i++, this));
    return out;
  }
  /** Elements [start, end) (negative counts from the end, like Array.prototype.slice). */
  slice(start = 0, end = this.length): Array<NitroValue | SharedType> {
    return [...this].slice(start, end);
  }
}

export class SharedMap extends SharedBase<MapEvent> {
  /** @internal */
  constructor(doc: Doc, h: number) {
    super(doc, h, 2);
  }
  set(key: string, value: NitroValue): void {
    this.doc.edit(this.doc.core.mapSet(this.h, key, value));
  }
  /** The value under key; a nested shared type comes back as its SharedText/SharedMap/... */
  get(key: string): NitroValue | SharedType {
    const packed: number = this.doc.core.mapGetType(this.h, key);
    if (packed >= 0) return this.doc.nested(packed);
    return this.doc.core.mapGet(this.h, key);
  }
  /** Sets key to a new, empty nested shared type and returns it. */
  setType<K extends SharedKind>(key: string, kind: K): KindMap[K] {
    const packed: number = this.doc.core.mapSetType(this.h, key, this.doc.kindIndex(kind));
    const t = this.doc.nested(packed);
    this.doc.edit(0);
    return t as KindMap[K];
  }
  has(key: string): boolean {
    return this.doc.core.mapHas(this.h, key);
  }
  delete(key: string): void {
    this.doc.edit(this.doc.core.mapDelete(this.h, key));
  }
  /** Keys, sorted. */
  keys(): string[] {
    return this.doc.core.mapKeys(this.h);
  }
  /** Values in key order; nested shared types as their SharedText/SharedMap/... */
  values(): Array<NitroValue | SharedType> {
    return this.keys().map((k) => this.get(k));
  }
  /** [key, value] pairs in key order. */
  entries(): Array<[string, NitroValue | SharedType]> {
    return this.keys().map((k) => [k, this.get(k)]);
  }
  [Symbol.iterator](): IterableIterator<[string, NitroValue | SharedType]> {
    return this.entries()[Symbol.iterator]();
  }
  forEach(fn: (value: NitroValue | SharedType, key: string, map: SharedMap) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
  /** Number of keys. */
  get size(): number {
    return this.keys().length;
  }
  /** Plain values; nested shared types as their JSON. */
  toJSON(): Record<string, NitroValue> {
    return this.doc.core.mapToJSON(this.h);
  }
}

export class SharedCounter extends SharedBase<SharedEvent<SharedCounter>> {
  /** @internal */
  constructor(doc: Doc, h: number) {
    super(doc, h, 3);
  }
  increment(delta = 1): void {
    if (!Number.isSafeInteger(delta)) throw errorFor('INVALID_ARGUMENT', 'counter deltas are safe integers');
    this.doc.edit(this.doc.core.counterIncrement(this.h, delta));
  }
  decrement(delta = 1): void {
    this.increment(-delta);
  }
  get value(): number {
    return this.doc.core.counterValue(this.h);
  }
  toJSON(): number {
    return this.value;
  }
}

export class SharedSet extends SharedBase<SharedEvent<SharedSet>> {
  /** @internal */
  constructor(doc: Doc, h: number) {
    super(doc, h, 4);
  }
  add(value: NitroValue): void {
    this.doc.edit(this.doc.core.setAdd(this.h, value));
  }
  delete(value: NitroValue): void {
    this.doc.edit(this.doc.core.setDelete(this.h, value));
  }
  has(value: NitroValue): boolean {
    return this.doc.core.setHas(this.h, value);
  }
  values(): NitroValue[] {
    return this.doc.core.setValues(this.h);
  }
  get size(): number {
    return this.doc.core.setSize(this.h);
  }
  [Symbol.iterator](): IterableIterator<NitroValue> {
    return this.values()[Symbol.iterator]();
  }
  toJSON(): NitroValue[] {
    return this.values();
  }
}

interface KindMap {
  text: SharedText;
  list: SharedList;
  map: SharedMap;
  counter: SharedCounter;
  set: SharedSet;
}
