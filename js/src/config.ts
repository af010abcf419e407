// Dynamic config: `node.config({ sources, validate })` (or openConfig() without a node) merges
// sources in order, each overriding the ones before it: defaults(obj), a plain object, env(prefix),
// file(path) (a JSON file, watched: Node only, in config-file.ts), replicated(name) (a CRDT document replicated by the
// node, so one change reaches every node). Typed getters read the merged config; watch(path, fn)
// hears changes of one path. When a source cannot be read (a JSON syntax error mid-edit) or the
// merged config fails `validate`, the error is reported ('error' listeners, `lastError`) and the
// last good config stays in force.
import type { NitroValue } from './codec.js';
import { Evented } from './events.js';
import { NitroError } from './errors.js';
import type { Doc } from './doc.js';

export type ConfigObject = { [key: string]: NitroValue };

export interface SourceContext {
  /** Call when the source's content may have changed: the config re-reads every source. */
  changed(): void;
  /** The node replicated sources use (node.config() passes its own). */
  doc?(name: string): Doc;
}

export interface OpenedSource {
  /** The source's current content; throws when it is unreadable (the last good content is used). */
  read(): ConfigObject | Promise<ConfigObject>;
  close?(): void | Promise<void>;
}

export interface ConfigSource {
  readonly kind: string;
  open(context: SourceContext): OpenedSource | Promise<OpenedSource>;
}

/** Returns nothing (or true) for a valid config; a string or a thrown error says what is wrong. */
export type ConfigValidator = (config: ConfigObject) => void | boolean | string;

export interface ConfigOptions {
  sources: Array<ConfigSource | ConfigObject>;
  validate?: ConfigValidator;
}

export type WatchFn = (value: NitroValue | undefined, previous: NitroValue | undefined) => void;

export const isObject = (v: unknown): v is ConfigObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

function clone<T>(v: T): T {
  if (v instanceof Uint8Array) return v.slice() as T;
  if (Array.isArray(v)) return v.map(clone) as T;
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
  return v;
}

/** Deep merge: objects merge key by key; anything else in `over` replaces what is in `base`. */
export function mergeConfig(base: ConfigObject, over: ConfigObject): ConfigObject {
  const out: ConfigObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? mergeConfig(out[k] as ConfigObject, v) : clone(v);
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && same(a[k], b[k]));
  }
  return false;
}

const pathParts = (path: string) => (path === '' ? [] : path.split('.'));

function at(config: ConfigObject, path: string): NitroValue | undefined {
  let v: NitroValue | undefined = config;
  for (const part of pathParts(path)) {
    if (!isObject(v)) return undefined;
    v = v[part];
  }
  return v;
}

/** Sets `value` at a dotted path, creating objects on the way. */
function setAt(config: ConfigObject, path: string, value: NitroValue): void {
  const parts = pathParts(path);
  let obj = config;
  for (const part of parts.slice(0, -1)) {
    if (!isObject(obj[part])) obj[part] = {};
    obj = obj[part] as ConfigObject;
  }
  obj[parts[parts.length - 1]!] = value;
}

// ---- sources ----

const staticSource = (kind: string, content: ConfigObject): ConfigSource => {
  if (!isObject(content)) throw new NitroError('INVALID_ARGUMENT', `${kind}(): expects an object`);
  const copy = clone(content);
  return { kind, open: () => ({ read: () => copy }) };
};

/** The lowest layer: values used when no later source sets them. */
export const defaults = (content: ConfigObject): ConfigSource => staticSource('defaults', content);

/** A fixed object (a plain object in `sources` is the same). */
export const object = (content: ConfigObject): ConfigSource => staticSource('object', content);

export interface EnvOptions {
  /** Separator of nested keys in a variable name (default '__'): APP_DB__HOST -> db.host. */
  separator?: string;
  /** The variables (default process.env). */
  env?: Record<string, string | undefined>;
}

/** Environment variables starting with `prefix`, lower-cased into paths; values parsed as JSON when they are JSON. */
export function env(prefix: string, options: EnvOptions = {}): ConfigSource {
  const separator = options.separator ?? '__';
  return {
    kind: 'env',
    open: () => ({
      read: () => {
        const vars = options.env ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
        const out: ConfigObject = {};
        for (const [name, raw] of Object.entries(vars).sort(([a], [b]) => (a < b ? -1 : 1))) {
          if (!name.startsWith(prefix) || raw === undefined || name.length === prefix.length) continue;
          let value: NitroValue = raw;
          try {
            value = JSON.parse(raw) as NitroValue;
          } catch {
            // not JSON: the string itself
          }
          setAt(out, name.slice(prefix.length).toLowerCase().split(separator).join('.'), value);
        }
        return out;
      },
    }),
  };
}

export interface ReplicatedSource extends ConfigSource {
  /** Sets a dotted path in the replicated document; every node using it sees the change. */
  set(path: string, value: NitroValue): void;
  delete(path: string): void;
}

/**
 * A config kept in the node's replicated document `name` (map `config`, one entry per dotted
 * path, so concurrent changes of different paths merge). Needs node.config().
 */
export function replicated(name: string): ReplicatedSource {
  let doc: Doc | undefined;
  const map = () => {
    if (!doc) throw new NitroError('FAILED_PRECONDITION', `replicated('${name}'): open it through node.config() first`);
    return doc.getMap('config');
  };
  return {
    kind: 'replicated',
    open(context) {
      if (!context.doc) throw new NitroError('FAILED_PRECONDITION', `replicated('${name}') needs a node: use node.config()`);
      doc = context.doc(name);
      const off = doc.on('update', () => context.changed());
      return {
        read: () => {
          const out: ConfigObject = {};
          const m = map();
          for (const key of m.keys().sort()) setAt(out, key, m.get(key) as NitroValue);
          return out;
        },
        close: () => off(),
      };
    },
    set(path, value) {
      if (typeof path !== 'string' || path === '') throw new NitroError('INVALID_ARGUMENT', 'replicated config: path must be a non-empty string');
      map().set(path, value);
    },
    delete(path) {
      map().delete(path);
    },
  };
}

// ---- the merged config ----

export interface ConfigEvents {
  /** A source could not be read or the merged config was invalid (the last good config stays). */
  error: [Error];
  /** The merged config changed (a copy of the new one). */
  change: [ConfigObject];
}

export class Config extends Evented<ConfigEvents> {
  private current: ConfigObject = {};
  private readonly lastRead: ConfigObject[] = [];
  private readonly watchers = new Map<string, Set<WatchFn>>();
  private opened: OpenedSource[] = [];
  private reloading: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** The last error (a source unreadable or the merged config invalid), cleared by a good reload. */
  lastError: Error | undefined;

  private constructor(private readonly validate: ConfigValidator | undefined) {
    super();
  }

  /** Opens every source and loads the config; rejects when the first load is not valid. */
  static async open(options: ConfigOptions, doc?: (name: string) => Doc): Promise<Config> {
    if (!options || !Array.isArray(options.sources)) throw new NitroError('INVALID_ARGUMENT', 'config({ sources }): sources must be an array');
    const config = new Config(options.validate);
    const sources = options.sources.map((s) => ('open' in s && typeof s.open === 'function' ? s as ConfigSource : object(s as ConfigObject)));
    const context: SourceContext = { changed: () => void config.reload(), doc };
    for (const source of sources) config.opened.push(await source.open(context));
    await config.reload();
    if (config.lastError) {
      await config.close();
      throw config.lastError;
    }
    return config;
  }

  /** The whole merged config (a copy). */
  all(): ConfigObject {
    return clone(this.current);
  }

  /** The value at a dotted path, or `fallback` when it is not set. */
  get<T extends NitroValue | undefined = NitroValue>(path: string, fallback?: T): NitroValue | T {
    const v = at(this.current, path);
    return v === undefined ? (fallback as T) : clone(v);
  }

  getString(path: string, fallback?: string): string | undefined {
    return this.typed(path, 'string', fallback);
  }

  getNumber(path: string, fallback?: number): number | undefined {
    return this.typed(path, 'number', fallback);
  }

  getBoolean(path: string, fallback?: boolean): boolean | undefined {
    return this.typed(path, 'boolean', fallback);
  }

  private typed<T>(path: string, type: string, fallback: T | undefined): T | undefined {
    const v = at(this.current, path);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== type) throw new NitroError('FAILED_PRECONDITION', `config ${path} is a ${typeof v}, not a ${type}`);
    return v as T;
  }

  /** Calls fn(value, previous) whenever the value at `path` ('' for the whole config) changes. */
  watch(path: string, fn: WatchFn): () => void {
    let set = this.watchers.get(path);
    if (!set) this.watchers.set(path, (set = new Set()));
    set.add(fn);
    return () => void this.watchers.get(path)?.delete(fn);
  }

  /** Re-reads every source (sources call this on change; reloads never overlap). */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        await this.reloadOnce();
      } while (this.again && !this.closed);
      this.reloading = undefined;
    })();
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    if (this.closed) return;
    let merged: ConfigObject = {};
    let readError: Error | undefined;
    for (const [i, source] of this.opened.entries()) {
      try {
        this.lastRead[i] = await source.read();
      } catch (e) {
        readError ??= e as Error; // this source keeps its last good content; the others still apply
      }
      merged = mergeConfig(merged, this.lastRead[i] ?? {});
    }
    if (readError) this.fail(readError);
    const invalid = this.check(merged);
    if (invalid) return this.fail(invalid);
    if (!readError) this.lastError = undefined;
    const previous = this.current;
    this.current = merged;
    this.notify(previous);
    if (!same(previous, merged) && this.listenerCount('change') > 0) this.emit('change', clone(merged));
  }

  private check(config: ConfigObject): Error | undefined {
    if (!this.validate) return undefined;
    try {
      const verdict = this.validate(clone(config));
      if (verdict === undefined || verdict === true) return undefined;
      return new NitroError('INVALID_ARGUMENT', `config rejected: ${verdict === false ? 'invalid' : verdict}`);
    } catch (e) {
      return new NitroError('INVALID_ARGUMENT', `config rejected: ${(e as Error).message}`, e);
    }
  }

  private fail(error: Error): void {
    this.lastError = error;
    this.emit('error', error);
  }

  private notify(previous: ConfigObject): void {
    for (const [path, fns] of [...this.watchers]) {
      const before = at(previous, path);
      const after = at(this.current, path);
      if (same(before, after)) continue;
      for (const fn of [...fns]) {
        try {
          fn(clone(after), clone(before));
        } catch (e) {
          this.fail(e as Error);
        }
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const source of this.opened) await source.close?.();
    this.opened = [];
    this.closeEvents('config');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A config without a node (replicated sources need node.config()). */
export function openConfig(options: ConfigOptions): Promise<Config> {
  return Config.open(options);
}
