// CRDT documents (standalone, no node needed): `new Doc()` with named shared types. The core
// (C++/wasm) does the work; this layer maps calls to it, turns error codes into NitroErrors and
// emits 'update' events with the caller's origin. Positions are UTF-16 indices, like JS strings.
import { NitroError, errorFor, unwrap, type ErrorCode } from './errors.js';
import type { NitroValue } from './codec.js';
import { randomSafeInteger } from './random.js';
import { getModule } from './wasm.js';
import { Evented } from './events.js';

/** The wasm-side document (bindings/crdt.cpp). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Core = Record<string, any>;

export type UpdateListener = (update: Uint8Array, origin: unknown) => void;

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

/** Doc events: 'update' carries an encoded update and the origin its transaction was given. */
export interface DocEvents {
  update: [update: Uint8Array, origin: unknown];
}

export class Doc extends Evented<DocEvents> {
  /** @internal */ readonly core: Core;
  #depth = 0;
  #destroyed = false;
  #origin: unknown = null;
  #types = new Map<string, unknown>();
  #beforeDestroy: Array<() => void> = [];

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
    if (this.core.changed()) this.emit('update', update, origin);
  }

  // The core records updates only while someone listens for them.
  protected override listenersChanged(event: keyof DocEvents, count: number): void {
    if (event === 'update' && !this.#destroyed) this.core.setCapture(count > 0);
  }

  /** Frees the wasm memory now instead of at garbage collection (a replicated Doc stops syncing first). */
  destroy(): void {
    for (const fn of this.#beforeDestroy.splice(0)) fn();
    this.closeEvents('document');
    this.#destroyed = true;
    registry.unregister(this);
    this.core.delete();
  }

  /** @internal Emits 'update' for an update a node's sync protocol applied to this Doc in the core. */
  emitApplied(update: Uint8Array, origin: unknown): void {
    this.emit('update', update, origin);
  }

  /** @internal Runs `fn` before destroy() frees the core (a sync protocol borrowing it detaches). */
  beforeDestroy(fn: () => void): void {
    this.#beforeDestroy.push(fn);
  }

  /** @internal Runs one edit: in the open transaction, or as its own. */
  edit(rc: number): void {
    this.check(rc);
    if (this.#depth === 0 && this.listenerCount('update') > 0) this.flush();
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
    if (!updates) return;
    for (const u of updates) this.emit('update', u, origin);
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

  /** @internal */
  private type<T>(kind: string, name: string, make: (handle: number) => T): T {
    if (typeof name !== 'string') throw new TypeError('a shared type name is a string');
    const key = `${kind}:${name}`;
    let t = this.#types.get(key) as T | undefined;
    if (!t) {
      t = make(this.core[kind](name) as number);
      this.#types.set(key, t);
    }
    return t;
  }
}

export class SharedText {
  /** @internal */ private readonly doc: Doc;
  /** @internal */ private readonly h: number;
  /** @internal Made by Doc.get*() and nested-type accessors. */
  constructor(doc: Doc, h: number) { this.doc = doc; this.h = h; }
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

export class SharedList {
  /** @internal */ private readonly doc: Doc;
  /** @internal */ private readonly h: number;
  /** @internal Made by Doc.get*() and nested-type accessors. */
  constructor(doc: Doc, h: number) { this.doc = doc; this.h = h; }
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
  /** Plain values; nested shared types as their JSON. */
  toArray(): NitroValue[] {
    return this.doc.core.listToArray(this.h);
  }
  toJSON(): NitroValue[] {
    return this.toArray();
  }
}

export class SharedMap {
  /** @internal */ private readonly doc: Doc;
  /** @internal */ private readonly h: number;
  /** @internal Made by Doc.get*() and nested-type accessors. */
  constructor(doc: Doc, h: number) { this.doc = doc; this.h = h; }
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
  keys(): string[] {
    return this.doc.core.mapKeys(this.h);
  }
  /** Plain values; nested shared types as their JSON. */
  toJSON(): Record<string, NitroValue> {
    return this.doc.core.mapToJSON(this.h);
  }
}

export class SharedCounter {
  /** @internal */ private readonly doc: Doc;
  /** @internal */ private readonly h: number;
  /** @internal Made by Doc.get*() and nested-type accessors. */
  constructor(doc: Doc, h: number) { this.doc = doc; this.h = h; }
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
}

export class SharedSet {
  /** @internal */ private readonly doc: Doc;
  /** @internal */ private readonly h: number;
  /** @internal Made by Doc.get*() and nested-type accessors. */
  constructor(doc: Doc, h: number) { this.doc = doc; this.h = h; }
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
}

interface KindMap {
  text: SharedText;
  list: SharedList;
  map: SharedMap;
  counter: SharedCounter;
  set: SharedSet;
}
