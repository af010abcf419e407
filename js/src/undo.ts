// UndoManager (after Yjs's): undo and redo of local changes to a set of shared types, made by
// tracked origins. It works on item ids, not positions, so concurrent remote edits neither get
// undone nor break an undo:
//   * an insertion is undone by deleting exactly the units it inserted, wherever they are now;
//   * a deletion is undone by inserting its content where its tombstones are now;
//   * a map change is undone by restoring the key's previous value, unless another write replaced ours.
// Changes within captureTimeout ms of the previous one merge into one stack item. The undo itself
// runs as a transaction with this manager as origin; its changes become the redo item (and back).
import type { NitroValue } from './codec.js';
import { Doc, SharedList, SharedMap, SharedText, unitsToString, type ChangedRun, type CoreChanges, type SharedType, type Transaction } from './doc.js';
import { NitroError } from './errors.js';
import { Evented, type PayloadEvents } from './events.js';

interface KeyUndo {
  type: SharedMap;
  key: string;
  had: boolean;            // the key held a value before the first captured change
  oldValue?: NitroValue;
  mine?: Id;   // the entry our last captured change wrote
  prev?: Id;   // the entry it replaced, if a tracked change had written that one
}
type Id = { client: number; clock: number };
const idKey = (id: Id): string => `${id.client}:${id.clock}`;
const kCopiesMax = 100_000;  // restored runs remembered for undoing their insertion again

/** One undoable step: what it inserted and removed, and map keys it changed. */
export class StackItem {
  /** @internal */ insertions: ChangedRun[] = [];
  /** @internal */ deletions: ChangedRun[] = [];
  /** @internal */ keys = new Map<string, KeyUndo>();
  /** Free for the app (Yjs keeps cursor positions here). */
  readonly meta = new Map<unknown, unknown>();
}

export interface UndoManagerOptions {
  /** Origins whose transactions are tracked (default: only `null`, transactions without an origin). */
  trackedOrigins?: Set<unknown>;
  /** Changes closer than this merge into one stack item (default 500 ms; 0 never merges). */
  captureTimeout?: number;
  /** The clock for captureTimeout (default Date.now); tests pass a fake one. */
  now?: () => number;
}

export interface StackEvent {
  stackItem: StackItem;
  type: 'undo' | 'redo';
  /** stack-item-added: whether it merged into the top item instead of adding one. */
  changedParentStackItem?: boolean;
}

export interface UndoManagerEvents {
  'stack-item-added': StackEvent;
  'stack-item-popped': StackEvent;
  'stack-cleared': { undoStackCleared: boolean; redoStackCleared: boolean };
}

/** Events: 'stack-item-added', 'stack-item-popped', 'stack-cleared', typed on/off/once (events.ts). */
export class UndoManager extends Evented<PayloadEvents<UndoManagerEvents>> {
  readonly doc: Doc;
  readonly undoStack: StackItem[] = [];
  readonly redoStack: StackItem[] = [];
  readonly trackedOrigins: Set<unknown>;
  readonly captureTimeout: number;
  #scope = new Set<SharedType>();
  #now: () => number;
  #last = 0;
  #undoing = false;
  #redoing = false;
  #reverted = false;  // the running undo/redo changed something
  #entries = new Map<string, Id>();  // per map key: the entry the last tracked change left
  #moved = new Map<string, Id>();    // an entry an undo/redo replaced by a copy -> the copy
  #copies: Array<{ type: number; from: Id; len: number; to: Id }> = [];  // restored runs -> their copies
  #off: () => void;

  constructor(scope: SharedType | SharedType[], options: UndoManagerOptions = {}) {
    super();
    const types = Array.isArray(scope) ? scope : [scope];
    if (types.length === 0) throw new NitroError('INVALID_ARGUMENT', 'an UndoManager needs at least one shared type');
    this.doc = types[0]!.doc;
    for (const t of types) this.addToScope(t);
    this.trackedOrigins = options.trackedOrigins ?? new Set([null]);
    this.trackedOrigins.add(this);
    this.captureTimeout = options.captureTimeout ?? 500;
    this.#now = options.now ?? Date.now;
    this.#off = this.doc.onChanges((changes, txn) => this.onChanges(changes, txn));
  }

  addToScope(type: SharedType | SharedType[]): void {
    for (const t of Array.isArray(type) ? type : [type]) {
      if (t.doc !== this.doc) throw new NitroError('INVALID_ARGUMENT', 'every type of an UndoManager belongs to one document');
      this.#scope.add(t);
    }
  }

  get undoing(): boolean {
    return this.#undoing;
  }
  get redoing(): boolean {
    return this.#redoing;
  }
  canUndo(): boolean {
    return this.undoStack.length > 0;
  }
  canRedo(): boolean {
    return this.redoStack.length > 0;
  }
  /** The next change starts a new stack item even within captureTimeout. */
  stopCapturing(): void {
    this.#last = 0;
  }
  clear(clearUndoStack = true, clearRedoStack = true): void {
    if (clearUndoStack) this.undoStack.length = 0;
    if (clearRedoStack) this.redoStack.length = 0;
    this.emit('stack-cleared', { undoStackCleared: clearUndoStack, redoStackCleared: clearRedoStack });
  }

  /** Undoes the last stack item; returns it (null when there was nothing to undo). */
  undo(): StackItem | null {
    return this.pop('undo');
  }
  redo(): StackItem | null {
    return this.pop('redo');
  }

  destroy(): void {
    this.#off();
    this.closeEvents('undo manager');
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  // ---- capturing ------------------------------------------------------------------------------

  private onChanges(changes: CoreChanges, txn: Transaction): void {
    if (!changes.local || !this.trackedOrigins.has(txn.origin)) return;
    const inScope = (run: { type: number }) => this.inScope(run.type);
    const insertions = changes.inserted.filter((r) => r.key === undefined && inScope(r));
    const deletions = changes.removed.filter((r) => r.key === undefined && inScope(r));
    const keyChanges = changes.types.filter((t) => t.keys.length > 0 && inScope(t));
    if (insertions.length === 0 && deletions.length === 0 && keyChanges.length === 0) return;

    if (this.#undoing || this.#redoing) this.#reverted = true;
    const kind: 'undo' | 'redo' = this.#undoing ? 'redo' : 'undo';
    const stack = this.#undoing ? this.redoStack : this.undoStack;
    const now = this.#now();
    const merge = !this.#undoing && !this.#redoing && stack.length > 0 && this.#last > 0 && now - this.#last < this.captureTimeout;
    if (!this.#undoing && !this.#redoing) {
      this.#last = now;
      if (this.redoStack.length > 0) this.redoStack.length = 0;  // a new change forks history
    }
    const item = merge ? stack[stack.length - 1]! : new StackItem();
    item.insertions.push(...insertions);
    item.deletions.push(...deletions);
    for (const t of keyChanges) {
      const map = this.doc.nested(t.type) as SharedMap;
      for (const k of t.keys) {
        const id = `${t.type}\u0000${k.key}`;
        const entry = this.doc.core.mapEntryId(map.typeId, k.key) as { client: number; clock: number } | null;
        const held = item.keys.get(id);
        const prev = k.action === 'add' ? undefined : this.#entries.get(id);
        if (entry) this.#entries.set(id, entry); else this.#entries.delete(id);
        if (held) {
          held.mine = entry ?? undefined;  // the first change's old value stays the one to restore
        } else {
          item.keys.set(id, { type: map, key: k.key, had: k.action !== 'add', oldValue: k.oldValue, mine: entry ?? undefined, prev });
        }
      }
    }
    if (!merge) stack.push(item);
    this.emit('stack-item-added', { stackItem: item, type: kind, changedParentStackItem: merge });
  }

  private inScope(packedType: number): boolean {
    const target = this.doc.nested(packedType);
    for (const link of this.doc.chainOf(target)) if (this.#scope.has(link.type)) return true;
    return false;
  }

  // ---- undoing --------------------------------------------------------------------------------

  private pop(kind: 'undo' | 'redo'): StackItem | null {
    // Items whose changes are all gone already (a remote delete took them) are skipped, as Yjs does.
    const stack = kind === 'undo' ? this.undoStack : this.redoStack;
    for (let item = stack.pop(); item; item = stack.pop()) {
      if (kind === 'undo') this.#undoing = true; else this.#redoing = true;
      this.#reverted = false;
      try {
        this.doc.transact(() => this.revert(item!), this);
      } finally {
        this.#undoing = false;
        this.#redoing = false;
      }
      if (!this.#reverted) continue;
      this.#last = 0;
      this.emit('stack-item-popped', { stackItem: item, type: kind });
      return item;
    }
    return null;
  }

  private revert(item: StackItem): void {
    this.restoreDeletions(item);
    for (const r of item.insertions) this.eraseRun(r.type, r, r.len, 0);
    for (const k of item.keys.values()) this.restoreKey(k);
  }

  // Content comes back where its tombstones are, in document order: a local insert lands right
  // after the visible unit before it (ahead of adjacent tombstones), so each run resolved after the
  // ones left of it lands after them. Units the same item also inserted (typed, then deleted within
  // one capture) stay gone.
  private restoreDeletions(item: StackItem): void {
    const runs: Array<{ run: ChangedRun; type: SharedText | SharedList; rank: number }> = [];
    for (const d of item.deletions) {
      for (const run of subtract(d, item.insertions)) {
        const type = this.doc.nested(run.type);
        if (!(type instanceof SharedText) && !(type instanceof SharedList)) continue;
        const rank = this.doc.core.rank(type.typeId, run.client, run.clock) as number;
        if (rank >= 0) runs.push({ run, type, rank });
      }
    }
    runs.sort((a, b) => a.rank - b.rank);
    for (const { run, type } of runs) {
      const pos = type.resolveRelativePosition({ client: run.client, clock: run.clock, assoc: 0 });
      if (pos === null) continue;
      if (type instanceof SharedText) type.insert(pos, unitsToString(run.text ?? new Uint16Array()));
      else type.insert(pos, run.values ?? []);
      // The copy's ids (one insert: consecutive clocks): undoing the run's insertion later removes the copy.
      const at = type.relativePosition(pos);
      if (at.client !== undefined && at.clock !== undefined && this.#copies.length < kCopiesMax) {
        this.#copies.push({ type: run.type, from: { client: run.client, clock: run.clock }, len: run.len, to: { client: at.client, clock: at.clock } });
      }
    }
  }

  // Deletes the units of an inserted run and of every copy an undo/redo made of them since.
  private eraseRun(type: number, id: Id, len: number, depth: number): void {
    const t = this.doc.nested(type);
    this.doc.check(this.doc.core.eraseIds(t.typeId, id.client, id.clock, len));
    if (depth >= 32) return;
    for (const c of this.#copies) {
      if (c.type !== type || c.from.client !== id.client) continue;
      const lo = Math.max(id.clock, c.from.clock), hi = Math.min(id.clock + len, c.from.clock + c.len);
      if (lo < hi) this.eraseRun(type, { client: c.to.client, clock: c.to.clock + (lo - c.from.clock) }, hi - lo, depth + 1);
    }
  }

  private restoreKey(k: KeyUndo): void {
    const now = this.doc.core.mapEntryId(k.type.typeId, k.key) as Id | null;
    const mine = k.mine && this.follow(k.mine);
    const ours = mine ? now !== null && idKey(now) === idKey(mine) : now === null;
    if (!ours) return;  // someone wrote the key after us: their value stays
    if (!k.had) {
      if (k.type.has(k.key)) k.type.delete(k.key);
      return;
    }
    k.type.set(k.key, k.oldValue as NitroValue);
    // The restored value is a new entry: older stack items that wrote the old one now own it.
    const copy = this.doc.core.mapEntryId(k.type.typeId, k.key) as Id | null;
    if (k.prev && copy) this.#moved.set(idKey(k.prev), copy);
  }

  private follow(id: Id): Id {
    let cur = id;
    for (let hops = 0; hops < 1024; hops++) {
      const next = this.#moved.get(idKey(cur));
      if (!next) break;
      cur = next;
    }
    return cur;
  }
}

// The parts of a removed run not inside any of `inserted` (same client, clock ranges).
function subtract(run: ChangedRun, inserted: ChangedRun[]): ChangedRun[] {
  let parts: Array<[number, number]> = [[run.clock, run.clock + run.len]];
  for (const ins of inserted) {
    if (ins.client !== run.client || ins.type !== run.type) continue;
    const a = ins.clock, b = ins.clock + ins.len;
    parts = parts.flatMap(([lo, hi]): Array<[number, number]> => {
      if (b <= lo || a >= hi) return [[lo, hi]];
      const out: Array<[number, number]> = [];
      if (lo < a) out.push([lo, a]);
      if (b < hi) out.push([b, hi]);
      return out;
    });
  }
  return parts.map(([lo, hi]) => ({
    ...run,
    clock: lo,
    len: hi - lo,
    text: run.text?.subarray(lo - run.clock, hi - run.clock),
    values: run.values?.slice(lo - run.clock, hi - run.clock),
  }));
}
