// `nitro call <service> <Method> ['<json>'] [--peer ws://host:port] [--timeout-ms N] [--stream]
//   [--metadata k=v]... [--json] [--link socket]`: one RPC call from the shell.
//
// Default (node link): a short-lived client-only node (createNode over the WebSocket transport,
// listening nowhere) dials --peer — the address `nitro node start` prints, by default
// ws://127.0.0.1:<kDefaultPort> — over a secure link, waits until the service is discovered (a node
// serves its name; ads arrive right after the link comes up), calls, prints, closes. With
// `--link socket` it speaks the raw SocketLink protocol instead (an Rpc served over a plain
// WebSocket, no node); `--url URL` is the older spelling of `--link socket --peer URL`.
//
// Output: the response as one JSON line on stdout; with --stream one line per message. Bytes are
// {"$bytes": hex} (accepted in the request too), bigints strings. --timeout-ms bounds everything:
// connecting, discovery and the call. --json sends JSON on the wire (content type) instead of
// msgpack, so bytes arrive as plain objects.
// Exit codes: 0 ok; 1 the call failed (stderr: `error: <CODE>: <message>`); 2 usage; 130 interrupted.
import { parseArgs } from 'node:util';
import { NitroError } from '../errors.js';
import { createNode } from '../create.js';
import type { NitroNode } from '../host/node.js';
import type { TransportSink, Transport } from '../host/transport.js';
import { websocket } from '../host/transports/websocket.js';
import { Rpc, SocketLink, type CallOptions } from '../rpc.js';
import type { RpcNodeMethods } from '../rpc-node.js';
import { init } from '../wasm.js';
import { kDefaultPort, toJson } from './node.js';

const USAGE = `usage: nitro call <service> <Method> ['<json>'] [--peer ws://host:port (default ws://127.0.0.1:${kDefaultPort})]
       [--timeout-ms N (default 10000)] [--stream] [--metadata k=v]... [--content-type msgpack|json|protobuf] [--json] [--link node|socket]
       [--show-metadata (the response header and trailer as JSON lines on stderr)]
  --peer defaults to $NITRO_PEER. Exit codes: 0 ok, 1 the remote call failed, 2 usage or network, 130 interrupted.`;

const kTimeoutMsDefault = 10000;
const kTimeoutMsMax = 24 * 3600 * 1000;
/** A service not advertised this long after the link came up is reported NOT_FOUND. */
const kDiscoveryWaitMsMax = 2000;
const kDiscoveryPollMs = 20;
const kExitInterrupted = 130;

interface Parsed {
  service: string;
  method: string;
  request: unknown;
  peer: string;
  link: 'node' | 'socket';
  stream: boolean;
  timeoutMs: number;
  options: CallOptions;
}

class UsageError extends Error {}
/** Reaching the node or discovering the service failed (exit 2), as opposed to the call (exit 1). */
class NetworkFailure extends Error {
  constructor(readonly cause: unknown) { super('network'); }
}
class HelpRequested extends Error {}

/** JSON with {"$bytes": hex} read back as bytes (what the output writes for bytes). */
function parseRequest(json: string): unknown {
  return JSON.parse(json, (_key, v) => {
    const hex = v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 ? v.$bytes : undefined;
    if (typeof hex === 'string' && /^(?:[0-9a-fA-F]{2})*$/.test(hex)) return Uint8Array.from(Buffer.from(hex, 'hex'));
    return v;
  });
}

function parseMetadata(pairs: string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--metadata needs key=value, got '${pair}'`);
    metadata[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return metadata;
}

function parse(argv: string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true,
      options: {
        peer: { type: 'string' }, url: { type: 'string' }, link: { type: 'string' },
        'timeout-ms': { type: 'string' }, stream: { type: 'boolean' }, json: { type: 'boolean' },
        metadata: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' },
        'content-type': { type: 'string' }, 'show-metadata': { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new HelpRequested();
  const [service, method, json, ...extra] = positionals;
  if (!service || !method) throw new UsageError('missing <service> or <Method>');
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}' (quote the JSON request)`);
  const link = values.url !== undefined ? 'socket' : values.link ?? 'node';
  if (link !== 'node' && link !== 'socket') throw new UsageError(`--link is node or socket, not '${link}'`);
  const peer = values.peer ?? values.url ?? (process.env.NITRO_PEER || `ws://127.0.0.1:${kDefaultPort}`);
  if (!/^wss?:\/\/[^/\s]+/.test(peer)) throw new UsageError(`--peer needs a ws:// or wss:// address, got '${peer}'`);
  const timeoutMs = values['timeout-ms'] === undefined ? kTimeoutMsDefault : Number(values['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > kTimeoutMsMax) throw new UsageError('--timeout-ms needs a positive integer');
  let request: unknown;
  try {
    request = json === undefined ? {} : parseRequest(json);
  } catch (err) {
    throw new UsageError(`bad JSON request: ${(err as Error).message}`);
  }
  const contentType = values['content-type'] ?? (values.json ? 'json' : 'msgpack');
  if (contentType !== 'json' && contentType !== 'msgpack' && contentType !== 'protobuf') {
    throw new UsageError(`--content-type is msgpack, json or protobuf, not '${contentType}'`);
  }
  const options: CallOptions = { metadata: parseMetadata(values.metadata ?? []), contentType };
  if (values['show-metadata']) {
    options.onHeader = (header) => console.error(JSON.stringify({ header }));
    options.onTrailer = (trailer) => console.error(JSON.stringify({ trailer }));
  }
  return { service, method, request, peer, link, stream: values.stream ?? false, timeoutMs, options };
}

/** One open connection that can make the call. */
interface Session {
  call(p: Parsed, timeoutMs: number, signal: AbortSignal): Promise<unknown>;
  stream(p: Parsed, timeoutMs: number, signal: AbortSignal): AsyncIterable<unknown>;
  close(): Promise<void>;
}

/** A websocket() transport whose `lost` rejects when the connection to `url` fails or closes. */
function watchedWebsocket(url: string): { transport: Transport; lost: Promise<never> } {
  let fail: (err: Error) => void = () => undefined;
  const lost = new Promise<never>((_, reject) => { fail = reject; });
  lost.catch(() => undefined);
  const inner = websocket({ url });
  const transport: Transport = {
    kind: inner.kind,
    open: (sink, context) => inner.open({
      opened: (address, initiator) => sink.opened(address, initiator),
      frame: (address, bytes) => sink.frame(address, bytes),
      closed: (address) => {
        if (address === url) fail(new NitroError('UNAVAILABLE', `cannot reach a nitro node at ${url}`));
        sink.closed(address);
      },
    } satisfies TransportSink, context),
  };
  return { transport, lost };
}

/** Rejects with DEADLINE_EXCEEDED after `ms`, or with CANCELLED when `signal` aborts (Ctrl-C). */
function deadline(ms: number, what: string, signal: AbortSignal): { expired: Promise<never>; clear: () => void } {
  let clear = () => {};
  const expired = new Promise<never>((_, reject) => {
    const cancel = () => reject(new NitroError('CANCELLED', 'interrupted'));
    const timer = setTimeout(() => reject(new NitroError('DEADLINE_EXCEEDED', what)), ms);
    signal.addEventListener('abort', cancel, { once: true });
    clear = () => { clearTimeout(timer); signal.removeEventListener('abort', cancel); };
  });
  expired.catch(() => undefined);  // also raced where it matters; never an unhandled rejection
  return { expired, clear };
}

async function discovered(node: NitroNode & RpcNodeMethods, service: string, waitMs: number, signal: AbortSignal): Promise<boolean> {
  const until = Date.now() + waitMs;
  while (node.rpc.registry.instances(service).length === 0) {
    if (signal.aborted) throw new NitroError('CANCELLED', 'interrupted');
    if (Date.now() >= until || node.closed) return false;
    await new Promise((resolve) => setTimeout(resolve, kDiscoveryPollMs));
  }
  return true;
}

/** Joins the node at p.peer with a throwaway identity and waits until p.service is discovered. */
async function openNodeSession(p: Parsed, endsAt: number, signal: AbortSignal): Promise<Session> {
  const { transport, lost } = watchedWebsocket(p.peer);
  const node = await createNode({ transport, joinTimeoutMs: 0 });
  const session: Session = {
    call: (q, timeoutMs, signal) => node.call(q.service, q.method, q.request, { ...q.options, timeoutMs, signal }),
    stream: (q, timeoutMs, signal) => node.stream(q.service, q.method, q.request, { ...q.options, timeoutMs, signal }),
    close: () => node.close(),
  };
  const linkUp = deadline(Math.max(0, endsAt - Date.now()), `no secure link to ${p.peer} within the timeout`, signal);
  try {
    if (node.peers().length === 0) await Promise.race([node.once('peer:up'), lost, linkUp.expired]);
    const waitMs = Math.min(kDiscoveryWaitMsMax, endsAt - Date.now());
    if (!(await discovered(node, p.service, waitMs, signal))) {
      if (Date.now() >= endsAt) throw new NitroError('DEADLINE_EXCEEDED', `service '${p.service}' not discovered within the timeout`);
      throw new NitroError('NOT_FOUND', `no node serving '${p.service}' is known to ${p.peer} (a node serves its --name)`);
    }
    return session;
  } catch (err) {
    await node.close();
    throw err;
  } finally {
    linkUp.clear();
  }
}

/** The SocketLink mode: p.peer is an Rpc served over a plain WebSocket (no node, no security). */
async function openSocketSession(p: Parsed, endsAt: number, signal: AbortSignal): Promise<Session> {
  await init();
  const { WebSocket } = await import('ws');
  const socket = new WebSocket(p.peer);
  const link = new SocketLink(`cli-${process.pid}`);
  const hello = link.add(socket);
  hello.catch(() => undefined);
  const opened = new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', (err) => reject(new NitroError('UNAVAILABLE', `cannot connect to ${p.peer}: ${err.message}`)));
  });
  const linkUp = deadline(Math.max(0, endsAt - Date.now()), `no hello from ${p.peer} within the timeout`, signal);
  const rpc = new Rpc(link);
  const close = async () => { rpc.close(); link.close(); };
  try {
    await Promise.race([opened.then(() => hello), linkUp.expired]);
    rpc.registry.add(p.service, await hello);
  } catch (err) {
    await close();
    throw err;
  } finally {
    linkUp.clear();
  }
  return {
    call: (q, timeoutMs, signal) => rpc.call(q.service, q.method, q.request, { ...q.options, timeoutMs, signal }),
    stream: (q, timeoutMs, signal) => rpc.stream(q.service, q.method, q.request, { ...q.options, timeoutMs, signal }),
    close,
  };
}

async function run(p: Parsed, signal: AbortSignal): Promise<void> {
  const endsAt = Date.now() + p.timeoutMs;
  const session = await (p.link === 'socket' ? openSocketSession(p, endsAt, signal) : openNodeSession(p, endsAt, signal))
    .catch((err: unknown) => { throw (err as Partial<NitroError>)?.code === 'NOT_FOUND' ? err : new NetworkFailure(err); });
  try {
    const left = Math.max(1, endsAt - Date.now());
    if (p.stream) {
      for await (const item of session.stream(p, left, signal)) console.log(toJson(item));
    } else {
      console.log(toJson(await session.call(p, left, signal)));
    }
  } finally {
    await session.close();
  }
}

function report(err: unknown): void {
  const e = err as Partial<NitroError>;
  const code = typeof e?.code === 'string' ? e.code : 'UNKNOWN';
  const details = e?.details === undefined || e.details === null ? '' : ` (details: ${toJson(e.details)})`;
  const hint = code === 'UNIMPLEMENTED' && /is server, called as unary/.test(e?.message ?? '') ? ' (use --stream)' : '';
  console.error(`error: ${code}: ${e?.message ?? String(err)}${details}${hint}`);
}

/** `nitro call ...`: returns the exit code. */
export async function callCommand(argv: string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parse(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      console.log(USAGE);
      return 0;
    }
    if (!(err instanceof UsageError)) throw err;
    console.error(`nitro call: ${err.message}\n${USAGE}`);
    return 2;
  }
  const abort = new AbortController();
  const interrupt = () => abort.abort();
  process.once('SIGINT', interrupt);
  try {
    await run(p, abort.signal);
    return 0;
  } catch (err) {
    report(err instanceof NetworkFailure ? err.cause : err);
    return abort.signal.aborted ? kExitInterrupted : err instanceof NetworkFailure ? 2 : 1;
  } finally {
    process.off('SIGINT', interrupt);
  }
}
