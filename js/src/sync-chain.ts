// The chain sync backend: node.sync over the chain's built-in "sync" module (core/src/sync), so
// acquire, renew and release are chain transactions, ordered and executed by consensus, with
// leases on committed block time and tokens that are commit revisions. Use:
//   const chain = a.consensus({ ... }); a.sync.use(chainSync(chain));
// The sender of every op is this node's verified id (the chain signs txs with the node's key).
// A waiter learns that a release or a lapse granted it the lock from the lock's committed state,
// read after each commit. fencedPut is the module's sync.put: the write commits only while the
// token still holds the lock, as on etcd.
import { NitroError } from './errors.js';
import type { NitroValue } from './codec.js';
import type { Holder, SyncBackend, SyncBackendFactory } from './sync.js';
import { peerId } from './crypto.js';
import { randomSafeInteger } from './random.js';

/** What the backend needs of a chain (the Chain that node.consensus() returns). */
export interface SyncChain {
  submit(op: string, args: NitroValue, opts?: { signal?: AbortSignal }): Promise<{ height: number; result: NitroValue }>;
  on(event: 'commit', fn: (ev: { height: number }) => void): () => void;
  readonly state: { get(key: string): Promise<NitroValue | undefined> };
}

const kWaitMsMax = 24 * 3600 * 1000;  // SyncLimits::wait_ms_max

/** The state key of lock `name` (nitro::sync::lock_state_key). */
export function lockStateKey(name: string): string { return '\u0000sync/l/' + name; }

interface LockRow { node: Uint8Array; ref: number; token: number }

function num(v: unknown): number { return typeof v === 'bigint' ? Number(v) : Number(v ?? 0); }

// The holder and waiters of an encoded LockState ({h, w, t}).
function decodeLock(v: NitroValue | undefined): { holder?: LockRow; waiters: LockRow[] } {
  const m = (v ?? {}) as Record<string, unknown>;
  const row = (r: unknown[], tokenAt: number): LockRow => ({ node: r[0] as Uint8Array, ref: num(r[1]), token: tokenAt < 0 ? 0 : num(r[tokenAt]) });
  const h = Array.isArray(m.h) ? row(m.h, 2) : undefined;
  const w = Array.isArray(m.w) ? (m.w as unknown[][]).map((r) => row(r, -1)) : [];
  return { holder: h, waiters: w };
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}

export function chainSync(chain: SyncChain): SyncBackendFactory {
  return { kind: 'chain', open: async ({ nodeId }) => new ChainSync(chain, nodeId) };
}

class ChainSync implements SyncBackend {
  readonly kind = 'chain';
  private readonly self: Uint8Array;
  private nextRef: number;
  private readonly offs = new Set<() => void>();

  constructor(private readonly chain: SyncChain, nodeId: string) {
    this.self = peerId.toBytes(nodeId);
    // A random start tells this process's handles from a restarted one's.
    this.nextRef = Math.floor(randomSafeInteger() / 2 ** 21) * 1024;
  }

  private async lock(name: string) { return decodeLock(await this.chain.state.get(lockStateKey(name))); }

  async acquire(name: string, ttlMs: number, waitMs: number, signal?: AbortSignal, onQueued?: () => void): Promise<number> {
    const ref = ++this.nextRef;
    const wait = Math.min(waitMs, kWaitMsMax);
    const { result } = await this.chain.submit('sync.acquire', { name, ttlMs, waitMs: wait, ref }, { signal });
    const r = result as Record<string, unknown>;
    if (r.outcome === 'granted') return num(r.token);
    if (r.outcome === 'busy') throw new NitroError('DEADLINE_EXCEEDED', `lock ${name} is held`);
    onQueued?.();
    try {
      return await this.granted(name, ref, signal);
    } catch (e) {
      await this.chain.submit('sync.cancel', { name, ref }).catch(() => undefined);
      throw e;
    }
  }

  // Resolves once the committed state names (this node, ref) holder; rejects once it has dropped
  // the request (its wait ran out on chain time) or on abort.
  private granted(name: string, ref: number, signal?: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => {
      let checking = false;
      const finish = (err: NitroError | undefined, token = 0) => {
        off();
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err); else resolve(token);
      };
      const onAbort = () => finish(new NitroError('CANCELLED', 'lock aborted'));
      const check = async () => {
        if (checking) return;
        checking = true;
        try {
          const lock = await this.lock(name);
          if (lock.holder && sameBytes(lock.holder.node, this.self) && lock.holder.ref === ref) finish(undefined, lock.holder.token);
          else if (!lock.waiters.some((w) => sameBytes(w.node, this.self) && w.ref === ref)) {
            finish(new NitroError('DEADLINE_EXCEEDED', 'lock wait timed out'));
          }
        } finally {
          checking = false;
        }
      };
      const off = this.chain.on('commit', () => void check());
      if (signal?.aborted) onAbort(); else signal?.addEventListener('abort', onAbort, { once: true });
      void check();
    });
  }

  async renew(name: string, token: number): Promise<void> {
    await this.chain.submit('sync.renew', { name, token });
  }

  async release(name: string, token: number): Promise<void> {
    await this.chain.submit('sync.release', { name, token });
  }

  // sync.put writes only while the token holds the lock (refused from the moment the lease lapses);
  // kv.cas { ifTokenAtLeast } is the weaker, resource-side check for keys written without sync.
  async fencedPut(key: string, value: string, name: string, token: number): Promise<void> {
    await this.chain.submit('sync.put', { name, token, key, value });
  }

  async get(key: string): Promise<string | undefined> {
    const v = await this.chain.state.get(key);
    return v === undefined || v === null ? undefined : String(v);
  }

  async holder(name: string): Promise<Holder | undefined> {
    const { holder } = await this.lock(name);
    return holder ? { id: peerId.fromBytes(holder.node), term: holder.token } : undefined;
  }

  async watch(name: string, onChange: (holder: Holder | undefined) => void): Promise<() => void> {
    let last: string | undefined;
    const check = async () => {
      const h = await this.holder(name).catch(() => undefined);
      const key = h ? `${h.id}#${h.term}` : '';
      if (key !== last) { last = key; onChange(h); }
    };
    const off = this.chain.on('commit', () => void check());
    this.offs.add(off);
    await check();
    return () => { off(); this.offs.delete(off); };
  }

  async close(): Promise<void> {
    for (const off of this.offs) off();
    this.offs.clear();
  }
}
