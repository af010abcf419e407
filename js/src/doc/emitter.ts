// A small typed event emitter for documents, presence and undo: on/off/once, `once` with an
// AbortSignal that settles (rejects) when the owner closes. Kept to the shape of the node-wide
// convention so documents can switch to it without changing their public surface.
import { NitroError } from '../errors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventMap = Record<string, any>;
export type Handler<T> = (event: T) => void;

export class Emitter<E extends EventMap> {
  #handlers = new Map<keyof E, Set<Handler<never>>>();
  #closers = new Set<(error: Error) => void>();

  /** Calls fn for every `event`; returns its off function. */
  on<K extends keyof E>(event: K, fn: Handler<E[K]>): () => void {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(fn as Handler<never>);
    return () => this.off(event, fn);
  }

  off<K extends keyof E>(event: K, fn: Handler<E[K]>): void {
    this.#handlers.get(event)?.delete(fn as Handler<never>);
  }

  /** The next `event`; rejects with ABORTED on abort and with CANCELLED when the owner closes. */
  once<K extends keyof E>(event: K, options: { signal?: AbortSignal } = {}): Promise<E[K]> {
    const { signal } = options;
    return new Promise<E[K]>((resolve, reject) => {
      if (signal?.aborted) return reject(new NitroError('ABORTED', 'aborted'));
      const done = (): void => {
        off();
        this.#closers.delete(onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const off = this.on(event, (ev) => {
        done();
        resolve(ev);
      });
      const onAbort = (): void => {
        done();
        reject(new NitroError('ABORTED', 'aborted'));
      };
      const onClose = (error: Error): void => {
        done();
        reject(error);
      };
      this.#closers.add(onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  count<K extends keyof E>(event: K): number {
    return this.#handlers.get(event)?.size ?? 0;
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    for (const fn of [...(this.#handlers.get(event) ?? [])]) (fn as Handler<E[K]>)(payload);
  }

  /** Settles every pending once() with `error` and drops all handlers. */
  close(error: Error = new NitroError('CANCELLED', 'closed')): void {
    for (const fn of [...this.#closers]) fn(error);
    this.#closers.clear();
    this.#handlers.clear();
  }
}
