// One event convention for every Nitro object (node, document, replica, beacon, chain, config),
// after js-libp2p's TypedEventEmitter and Yjs's Observable:
//   * `on(event, fn)` returns its own `off`; `off(event, fn)` is the same, idempotent;
//   * `once(event, { signal, filter })` resolves with the next matching event, rejects with a
//     CancelledError when `signal` aborts and with an UnavailableError (or the owner's error) when
//     the object closes, so no awaiter is left hanging;
//   * events whose listener takes one argument resolve `once` with it; several, with the tuple.
// Listeners run synchronously, in the order they were added; one added or removed while an event
// is dispatched takes effect from the next event.
import { CancelledError, NitroError, UnavailableError } from './errors.js';

// `Symbol.asyncDispose` and `Symbol.dispose` (TC39 explicit resource management) are declared by
// @types/node and by TypeScript's esnext.disposable lib; declared here too so browser-only
// consumers type-check.
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
    readonly dispose: unique symbol;
  }
}

/** An event map: event name → the arguments its listeners take. */
export type EventArgs<Events> = { [E in keyof Events]: unknown[] };

/** An event map from payload types: each event passes its one payload to listeners. */
export type PayloadEvents<M> = { [E in keyof M]: [M[E]] };

export type Listener<A extends unknown[]> = (...args: A) => void;

/** What `once` resolves with: the single argument, or all of them as a tuple. */
export type OnceValue<A extends unknown[]> = A extends [infer X] ? X : A;

export interface OnceOptions<A extends unknown[]> {
  /** Rejects the wait with a CancelledError when aborted. */
  signal?: AbortSignal;
  /** Resolves only for an event for which this holds. */
  filter?: (...args: A) => boolean;
}

interface Waiter { reject: (error: Error) => void }

/**
 * The base of every evented Nitro object. Subclasses call `emit` and, when they close,
 * `closeEvents()` (pending `once` calls reject, listeners are dropped).
 */
export class Evented<Events extends EventArgs<Events>> {
  #listeners = new Map<keyof Events, Set<Listener<never>>>();
  #waiters = new Set<Waiter>();
  #closedError: Error | undefined;

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof Events>(event: E, fn: Listener<Events[E]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    const before = set.size;
    set.add(fn as Listener<never>);
    if (set.size !== before) this.listenersChanged(event, set.size);
    return () => this.off(event, fn);
  }

  /** Removes a listener added with `on` (no-op when absent). */
  off<E extends keyof Events>(event: E, fn: Listener<Events[E]>): void {
    const set = this.#listeners.get(event);
    if (!set || !set.delete(fn as Listener<never>)) return;
    if (set.size === 0) this.#listeners.delete(event);
    this.listenersChanged(event, set.size);
  }

  /**
   * Resolves with the next `event` (for which `filter` holds). A function as the second argument
   * is taken as the filter.
   */
  once<E extends keyof Events>(
    event: E,
    options?: OnceOptions<Events[E]> | ((...args: Events[E]) => boolean),
  ): Promise<OnceValue<Events[E]>> {
    const opts: OnceOptions<Events[E]> = typeof options === 'function' ? { filter: options } : (options ?? {});
    if (this.#closedError) return Promise.reject(this.#closedError);
    const { signal, filter } = opts;
    if (signal?.aborted) return Promise.reject(cancelled(signal));
    return new Promise((resolve, reject) => {
      const finish = () => {
        off();
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = { reject: (e) => { finish(); reject(e); } };
      const onAbort = () => waiter.reject(cancelled(signal!));
      const off = this.on(event, ((...args: Events[E]) => {
        if (filter && !filter(...args)) return;
        finish();
        resolve((args.length === 1 ? args[0] : args) as OnceValue<Events[E]>);
      }) as Listener<Events[E]>);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** How many listeners `event` has. */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /**
   * Calls every listener of `event`. A listener that throws does not stop the others: the error
   * goes to `listenerFailed` (by default rethrown once all listeners ran).
   */
  protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    let failure: { error: unknown } | undefined;
    for (const fn of [...set]) {
      try {
        (fn as Listener<Events[E]>)(...args);
      } catch (error) {
        if (!this.listenerFailed(error, event)) failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }

  /** A listener threw: return true once handled (e.g. re-emitted as 'error'), false to rethrow. */
  protected listenerFailed(_error: unknown, _event: keyof Events): boolean {
    return false;
  }

  /** Hook: the number of listeners of `event` changed (e.g. to start or stop capturing updates). */
  protected listenersChanged(_event: keyof Events, _count: number): void {}

  /**
   * The object closed: pending and later `once` calls reject with `error` (default
   * UNAVAILABLE "<what> is closed"), and every listener is dropped. Idempotent.
   */
  protected closeEvents(what = 'object', error?: Error): void {
    this.#closedError ??= error ?? new UnavailableError(`${what} is closed`);
    for (const w of [...this.#waiters]) w.reject(this.#closedError);
    this.#waiters.clear();
    const events = [...this.#listeners.keys()];
    this.#listeners.clear();
    for (const event of events) this.listenersChanged(event, 0);
  }

  /** Rejects waiters (as closeEvents does) but keeps listeners: for closes that still emit. */
  protected rejectWaiters(what = 'object', error?: Error): void {
    this.#closedError ??= error ?? new UnavailableError(`${what} is closed`);
    for (const w of [...this.#waiters]) w.reject(this.#closedError);
    this.#waiters.clear();
  }
}

function cancelled(signal: AbortSignal): NitroError {
  const reason = signal.reason as unknown;
  if (reason instanceof NitroError) return reason;
  const message = reason instanceof Error ? reason.message : 'the operation was aborted';
  return new CancelledError(message, reason);
}

/** Rejects with a CancelledError when `signal` aborts: for awaits that race an AbortSignal. */
export function abortPromise(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(cancelled(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
