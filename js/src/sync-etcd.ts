// The etcd sync backend: createNode({ sync: etcd({ endpoints }) }). It follows etcd's own
// concurrency recipe (client/v3/concurrency Mutex and Election):
//   * acquiring `name` puts nitro/sync/<name>/<lease id> under a fresh lease; the key's create
//     revision is the token (etcd revisions are global, so tokens of one lock strictly increase);
//   * the holder is the key with the lowest create revision; a waiter watches only the key just
//     before its own for deletion, so a release wakes one waiter and the queue is FIFO by request;
//   * the lease's TTL runs on etcd's clock: a holder that stops renewing (crashed, paused) loses the
//     key when etcd expires the lease. etcd leases are whole seconds, at least etcd's minimum TTL
//     (2 s with default settings): ttlMs rounds up;
//   * fencedPut is a transaction that compares the lock key's create revision with the token, so a
//     write from a holder whose lease lapsed is refused by etcd itself.
// Only the holder may renew or release: the key records the node id of its owner. etcd does not
// verify that id; who may write those keys is etcd's access control's business.
import type { Etcd3, Lease } from 'etcd3';
import { NitroError } from './errors.js';
import type { Holder, SyncBackend, SyncBackendFactory } from './sync.js';

export interface EtcdSyncOptions {
  /** e.g. ['http://127.0.0.1:2379'] */
  endpoints: string[];
  /** Key prefix for locks and fenced values (default 'nitro/'). */
  prefix?: string;
  /** Passed through to the etcd3 client (auth, credentials, ...). */
  clientOptions?: Record<string, unknown>;
}

/** The etcd backend for node.sync. Needs the npm package `etcd3`. */
export function etcd(options: EtcdSyncOptions): SyncBackendFactory {
  if (!Array.isArray(options?.endpoints) || options.endpoints.length === 0) {
    throw new NitroError('INVALID_ARGUMENT', 'etcd({ endpoints }) needs at least one endpoint');
  }
  return {
    kind: 'etcd',
    async open({ nodeId }) {
      let mod: typeof import('etcd3');
      try {
        // A computed specifier: browser bundles of the package must not try to pull in etcd3 (gRPC,
        // Node only); in Node it resolves from the application's dependencies.
        const specifier = 'etcd3';
        mod = await import(specifier);
      } catch {
        throw new NitroError('UNAVAILABLE', 'the etcd sync backend needs the npm package etcd3');
      }
      const client = new mod.Etcd3({ ...options.clientOptions, hosts: options.endpoints });
      return new EtcdSync(client, nodeId, options.prefix ?? 'nitro/', mod.EtcdLeaseInvalidError);
    },
  };
}

interface Held { lease: Lease; key: string }

function asError(e: unknown): NitroError {
  if (e instanceof NitroError) return e;
  return new NitroError('UNAVAILABLE', `etcd: ${(e as Error)?.message ?? String(e)}`);
}

class EtcdSync implements SyncBackend {
  readonly kind = 'etcd';
  private readonly held = new Map<string, Held>();  // `${name}#${token}` -> this process's leases

  constructor(private readonly client: Etcd3, private readonly nodeId: string, private readonly root: string,
              private readonly LeaseInvalid: new (...args: never[]) => Error) {}

  private lockPrefix(name: string): string { return `${this.root}sync/${encodeURIComponent(name)}/`; }
  private dataKey(key: string): string { return `${this.root}data/${key}`; }

  async acquire(name: string, ttlMs: number, waitMs: number, signal?: AbortSignal, onQueued?: () => void): Promise<number> {
    const lease = this.client.lease(Math.max(1, Math.ceil(ttlMs / 1000)), { autoKeepAlive: false });
    lease.on('lost', () => undefined);  // reported through renew(); no unhandled 'lost' errors
    let key = '';
    try {
      const id = await lease.grant();
      key = this.lockPrefix(name) + id;
      const put = await this.client.put(key).value(this.nodeId).lease(id).exec();
      const token = Number(put.header.revision);
      await this.waitTurn(name, token, lease, waitMs, signal, onQueued);
      // The lease runs its full TTL from the grant, not from the last keepalive of the wait.
      await lease.keepaliveOnce();
      this.held.set(`${name}#${token}`, { lease, key });
      return token;
    } catch (e) {
      if (key) await this.client.delete().key(key).exec().catch(() => undefined);
      await lease.revoke().catch(() => undefined);
      throw asError(e);
    }
  }

  // Waits until no key of the lock was created before ours (etcd's waitDeletes), keeping our lease
  // alive while queued.
  private async waitTurn(name: string, token: number, lease: Lease, waitMs: number, signal?: AbortSignal,
                         onQueued?: () => void): Promise<void> {
    const deadline = Date.now() + waitMs;
    const period = Math.max(200, Math.floor((lease as unknown as { ttl: number }).ttl * 1000 / 3));
    const keepalive = setInterval(() => void lease.keepaliveOnce().catch(() => undefined), period);
    try {
      for (;;) {
        const before = await this.client.getAll().prefix(this.lockPrefix(name))
          .maxCreateRevision(String(token - 1)).sort('Create', 'Descend').limit(1).exec();
        if (before.kvs.length === 0) return;
        if (waitMs === 0) throw new NitroError('DEADLINE_EXCEEDED', `lock ${name} is held`);
        if (onQueued) { onQueued(); onQueued = undefined; }
        await this.waitDeleted(before.kvs[0].key, BigInt(before.header.revision) + 1n, deadline, signal);
      }
    } finally {
      clearInterval(keepalive);
    }
  }

  private async waitDeleted(key: Buffer, fromRevision: bigint, deadline: number, signal?: AbortSignal): Promise<void> {
    const watcher = await this.client.watch().key(key).startRevision(fromRevision.toString()).create();
    await new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (err?: NitroError) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        watcher.cancel().catch(() => undefined);
        if (err) reject(err); else resolve();
      };
      const onAbort = () => finish(new NitroError('CANCELLED', 'lock aborted'));
      watcher.on('delete', () => finish());
      watcher.on('error', (e) => finish(asError(e)));
      if (Number.isFinite(deadline)) {
        timer = setTimeout(() => finish(new NitroError('DEADLINE_EXCEEDED', 'lock wait timed out')),
          Math.max(0, deadline - Date.now()));
      }
      if (signal?.aborted) onAbort(); else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  // The lock key holding `token`, if it still exists.
  private async keyOf(name: string, token: number): Promise<{ key: Buffer; owner: string } | undefined> {
    const r = await this.client.getAll().prefix(this.lockPrefix(name))
      .minCreateRevision(String(token)).maxCreateRevision(String(token)).exec();
    const kv = r.kvs[0];
    return kv ? { key: kv.key, owner: kv.value.toString() } : undefined;
  }

  async renew(name: string, token: number): Promise<void> {
    const held = this.held.get(`${name}#${token}`);
    if (!held) throw new NitroError('PERMISSION_DENIED', `not the holder of ${name} (token ${token})`);
    let lapsed = false;
    try {
      await held.lease.keepaliveOnce();  // throws EtcdLeaseInvalidError once etcd expired the lease
    } catch (e) {
      if (!(e instanceof this.LeaseInvalid)) throw asError(e);
      lapsed = true;
    }
    if (lapsed || !(await this.keyOf(name, token))) {
      this.held.delete(`${name}#${token}`);
      throw new NitroError('PERMISSION_DENIED', `the lease on ${name} (token ${token}) has lapsed`);
    }
  }

  async release(name: string, token: number): Promise<void> {
    const found = await this.keyOf(name, token).catch((e) => { throw asError(e); });
    if (!found || found.owner !== this.nodeId) {
      throw new NitroError('PERMISSION_DENIED', `not the holder of ${name} (token ${token})`);
    }
    // Delete only that very key, still at that create revision (it may have lapsed meanwhile).
    const txn = await this.client.if(found.key, 'Create', '==', token)
      .then(this.client.delete().key(found.key)).commit().catch((e) => { throw asError(e); });
    const held = this.held.get(`${name}#${token}`);
    this.held.delete(`${name}#${token}`);
    await held?.lease.revoke().catch(() => undefined);
    if (!txn.succeeded) throw new NitroError('PERMISSION_DENIED', `the lease on ${name} (token ${token}) has lapsed`);
  }

  async fencedPut(key: string, value: string, name: string, token: number): Promise<void> {
    const lockKey = this.held.get(`${name}#${token}`)?.key ?? (await this.keyOf(name, token))?.key;
    const refused = () => new NitroError('FAILED_PRECONDITION', `fenced: token ${token} no longer holds ${name}`);
    if (!lockKey) throw refused();
    const txn = await this.client.if(lockKey, 'Create', '==', token)
      .then(this.client.put(this.dataKey(key)).value(value)).commit().catch((e) => { throw asError(e); });
    if (!txn.succeeded) throw refused();
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(this.dataKey(key)).string().catch((e) => { throw asError(e); })) ?? undefined;
  }

  async holder(name: string): Promise<Holder | undefined> {
    const r = await this.client.getAll().prefix(this.lockPrefix(name)).sort('Create', 'Ascend').limit(1).exec()
      .catch((e) => { throw asError(e); });
    const kv = r.kvs[0];
    return kv ? { id: kv.value.toString(), term: Number(kv.create_revision) } : undefined;
  }

  async watch(name: string, onChange: (holder: Holder | undefined) => void): Promise<() => void> {
    const watcher = await this.client.watch().prefix(this.lockPrefix(name)).create();
    let stopped = false;
    let checking = Promise.resolve();
    const check = () => {
      checking = checking.then(async () => {
        const holder = await this.holder(name).catch(() => undefined);
        if (!stopped) onChange(holder);
      });
    };
    watcher.on('put', check).on('delete', check).on('connected', check).on('error', () => undefined);
    check();
    await checking;
    return () => { stopped = true; watcher.cancel().catch(() => undefined); };
  }

  async close(): Promise<void> {
    // A closing node gives its locks up now rather than leaving them to lapse.
    await Promise.all([...this.held.values()].map(({ lease }) => lease.revoke().catch(() => undefined)));
    this.held.clear();
    this.client.close();
  }
}
