// postgresStore(url) for Node: the key/value Store in a PostgreSQL (or CockroachDB) table.
// Table (created when missing): key bytea primary key (the key's UTF-8 bytes, so order and prefix
// ranges are byte order on every server and collation), value bytea, expires_at double precision
// (wall-clock ms, null: none). A write is one autocommitted statement and a batch one transaction:
// the server has it in its write-ahead log when the promise resolves (synchronous_commit, the
// default), and a client killed mid-batch leaves nothing of it. The `pg` package is loaded on first
// use, so apps that do not use this store need not install it.
import { NitroError } from './errors.js';
import {
  checkKey, checkLimit, checkOps, checkValue, expiryOf, withDocLog,
  type KvStore, type Store, type StoreClockOptions, type StoreListPage,
} from './store.js';

export interface PostgresStoreOptions extends StoreClockOptions {
  /** Table name (default `nitro_kv`); several stores can share a database with different tables. */
  table?: string;
  /** Connections in the pool (default 4). */
  poolSize?: number;
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}
interface PoolClient extends Queryable {
  release(error?: Error): void;
}
interface Pool extends Queryable {
  connect(): Promise<PoolClient>;
  end(): Promise<void>;
  on(event: 'error', fn: (e: Error) => void): void;
}

const utf8 = new TextEncoder();
const kSweepEveryMs = 60_000;
const keyBytes = (key: string) => Buffer.from(utf8.encode(key));

/** The smallest byte string above every string starting with `prefix`, or undefined for none. */
export function prefixEnd(prefix: Uint8Array): Buffer | undefined {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

function unavailable(e: unknown): NitroError {
  if (e instanceof NitroError) return e;
  return new NitroError('UNAVAILABLE', `postgresStore: ${(e as Error)?.message ?? String(e)}`, e);
}

/** A Store (and DocStore) in the PostgreSQL database at `url` (a postgres:// connection string). */
export function postgresStore(url: string, options: PostgresStoreOptions = {}): KvStore {
  const now = options.now ?? Date.now;
  const table = options.table ?? 'nitro_kv';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table)) throw new NitroError('INVALID_ARGUMENT', `postgresStore: bad table name ${JSON.stringify(table)}`);
  let ready: Promise<Pool> | undefined;
  let closed = false;

  async function connect(): Promise<Pool> {
    const pg = (await import('pg')) as unknown as { default: { Pool: new (c: object) => Pool } };
    const pool = new pg.default.Pool({ connectionString: url, max: options.poolSize ?? 4 });
    pool.on('error', () => undefined); // an idle client's lost connection: the next query reconnects
    const create = `CREATE TABLE IF NOT EXISTS ${table} (key bytea PRIMARY KEY, value bytea NOT NULL, expires_at double precision)`;
    try {
      await pool.query(create);
    } catch (e) {
      // Two processes creating the table at once: one loses the race on the catalog; it exists now.
      if ((e as { code?: string }).code !== '23505') throw e;
    }
    return pool;
  }

  async function pool(): Promise<Pool> {
    if (closed) throw new NitroError('FAILED_PRECONDITION', 'postgresStore is closed');
    ready ??= connect();
    ready.catch(() => { ready = undefined; }); // retry the connection on the next call
    return ready;
  }

  async function query(text: string, values: unknown[]): Promise<Array<Record<string, unknown>>> {
    const p = await pool().catch((e) => { throw unavailable(e); });
    try {
      return (await p.query(text, values)).rows;
    } catch (e) {
      throw unavailable(e);
    }
  }

  // Expired rows are invisible at once and deleted by a sweep that rides on writes, at most once
  // per kSweepEveryMs (no timer of its own).
  let sweptAt = -Infinity;
  const sweep = async () => {
    const t = now();
    if (t - sweptAt < kSweepEveryMs) return;
    sweptAt = t;
    await query(`DELETE FROM ${table} WHERE expires_at <= $1`, [t]);
  };

  const upsert = `INSERT INTO ${table} (key, value, expires_at) VALUES ($1, $2, $3)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`;
  const liveAt = '(expires_at IS NULL OR expires_at > $2)';

  const store: Store = {
    async read(key) {
      checkKey(key);
      const rows = await query(`SELECT value FROM ${table} WHERE key = $1 AND ${liveAt}`, [keyBytes(key), now()]);
      return rows.length ? new Uint8Array(rows[0]!.value as Buffer) : undefined;
    },
    async write(key, value, opts) {
      checkKey(key);
      checkValue(value);
      await query(upsert, [keyBytes(key), Buffer.from(value), expiryOf(opts, now) ?? null]);
      await sweep();
    },
    async delete(key) {
      checkKey(key);
      await query(`DELETE FROM ${table} WHERE key = $1`, [keyBytes(key)]);
    },
    async list(prefix, opts) {
      checkKey(prefix);
      const limit = checkLimit(opts);
      const lo = keyBytes(prefix);
      const values: unknown[] = [lo, now()];
      let where = `key >= $1 AND ${liveAt}`;
      const hi = prefixEnd(lo);
      if (hi) where += ` AND key < $${values.push(hi)}`;
      if (opts?.cursor !== undefined) where += ` AND key > $${values.push(keyBytes(opts.cursor))}`;
      const cap = Number.isFinite(limit) ? ` LIMIT $${values.push(limit + 1)}` : '';
      const rows = await query(`SELECT key, value FROM ${table} WHERE ${where} ORDER BY key${cap}`, values);
      const page: StoreListPage = { entries: [] };
      for (const row of rows.slice(0, limit)) {
        page.entries.push([(row.key as Buffer).toString('utf8'), new Uint8Array(row.value as Buffer)]);
      }
      if (rows.length > limit) page.cursor = page.entries[page.entries.length - 1]![0];
      return page;
    },
    async batch(ops) {
      checkOps(ops);
      if (ops.length === 0) return;
      const client = await (await pool().catch((e) => { throw unavailable(e); })).connect().catch((e) => { throw unavailable(e); });
      try {
        await client.query('BEGIN');
        for (const op of ops) {
          if (op.value === undefined) await client.query(`DELETE FROM ${table} WHERE key = $1`, [keyBytes(op.key)]);
          else await client.query(upsert, [keyBytes(op.key), Buffer.from(op.value), null]);
        }
        await client.query('COMMIT');
        client.release();
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release(e as Error);
        throw unavailable(e);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      const p = await ready?.catch(() => undefined);
      await p?.end();
    },
  };
  return withDocLog(store);
}
