// Stream plumbing of the JS API: the async queue behind every stream and its iterator.
import type { NitroError } from '../errors.js';
import type { StreamKind, ContentType, Metadata } from './types.js';

/** What the JS layer keeps per open call (client or server side). */
export interface CallState {
  kind: StreamKind;
  contentType: ContentType;
  inbox?: Inbox;
  writable: Array<() => void>;
  ended: boolean;
  error?: NitroError;
  settle?: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
  controller?: AbortController;  // server calls
  onTrailer?: (trailer: Metadata) => void;  // client calls: CallOptions.onTrailer
  onHeader?: (header: Metadata) => void;    // client calls: CallOptions.onHeader
  // Response headers: the server's ctx.header until sent with the first message or the response;
  // on the client, `headerDone` once onHeader ran.
  header?: Metadata;
  headerDone?: boolean;
}

export interface OpenCall {
  handle: number;
  state: CallState;
  result: Promise<unknown>;
}

/** An async queue of decoded stream messages; taking one grants the sender credit. */
export class Inbox implements AsyncIterableIterator<unknown> {
  private items: unknown[] = [];
  private waiters: Array<{ resolve: (r: IteratorResult<unknown>) => void; reject: (e: unknown) => void }> = [];
  private ended = false;
  private error: unknown;

  constructor(private readonly onTake: () => void, private readonly onReturn: () => void) {}

  push(value: unknown): void {
    const w = this.waiters.shift();
    if (w) {
      this.onTake();
      w.resolve({ value, done: false });
    } else {
      this.items.push(value);
    }
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    for (const w of this.waiters.splice(0)) error ? w.reject(error) : w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.items.length) {
      this.onTake();
      return Promise.resolve({ value: this.items.shift(), done: false });
    }
    if (this.ended) return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<unknown>> {
    if (!this.ended) this.onReturn();
    this.end();
    this.items.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }
}

export function lazyIterator(opened: Promise<OpenCall>): AsyncIterator<unknown> {
  let inbox: Inbox | undefined;
  const get = async () => (inbox ??= (await opened).state.inbox!);
  return {
    next: async () => (await get()).next(),
    return: async () => {
      const c = await opened.catch(() => undefined);
      return c ? c.state.inbox!.return() : { value: undefined, done: true };
    },
  };
}

