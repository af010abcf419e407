// `nitro node start`, `nitro publish`, `nitro subscribe`: a node over WebSocket from the shell.
// Output is JSON lines on stdout (one event per line), so scripts and tests can follow it.
//   nitro node start [--listen PORT] [--host HOST] [--name NAME] [--bootstrap URL]... [--subscribe TOPIC]... [--echo]
// A started node serves RPC under its name (`nitro call <name> Node.Info '{}' --peer <address>`):
// Node.Info always, the Echo.* debug service with --echo. Without --listen and --bootstrap it
// listens on kDefaultPort, the port `nitro call` dials by default.
//   nitro publish --bootstrap URL [--wait-ms MS] <topic> <json>
//   nitro subscribe --bootstrap URL [--count N] <topic>
import { parseArgs } from 'node:util';
import { createNode, websocket, NitroError, type NitroNode, type NitroValue, type HandlerContext, type RpcNodeMethods } from '../node.js';

const kJoinTimeoutMs = 10000;
/**
 * The node a command speaks to: --peer (repeatable; --bootstrap is the older spelling), else
 * $NITRO_PEER, else ws://127.0.0.1:<kDefaultPort>.
 */
export function peersOf(values: { peer?: string[]; bootstrap?: string[] }): string[] {
  const given = [...(values.peer ?? []), ...(values.bootstrap ?? [])];
  if (given.length > 0) return given;
  return [process.env.NITRO_PEER || `ws://127.0.0.1:${kDefaultPort}`];
}

/** `nitro node start` listens here when given neither --listen nor --bootstrap. */
export const kDefaultPort = 7400;
// Bounds of the Echo.* debug service: a caller cannot make it stream or wait without end.
const kEchoCountMax = 100000;
const kEchoWaitMsMax = 600000;

/** JSON for Nitro values: bytes as {"$bytes": hex}, bigints as strings, Maps as entry lists. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
    if (v instanceof Map) return { $map: [...v.entries()] };
    return v;
  });
}

const out = (obj: Record<string, unknown>) => process.stdout.write(toJson(obj) + '\n');

function printEvents(node: NitroNode): void {
  for (const ev of ['peer:up', 'peer:down', 'neighbor:up', 'neighbor:down'] as const) {
    node.on(ev, (e) => out({ event: ev, id: e.id, address: e.address }));
  }
  node.on('error', (e) => out({ event: 'error', message: e.message }));
}

function printMessages(node: NitroNode, topic: string, onMessage = () => {}, queue?: string): void {
  node.subscribe(topic, (msg, meta) => {
    out({ event: 'message', topic: meta.topic, from: meta.from, seq: meta.seq, hops: meta.hops, msg });
    onMessage();
  }, queue === undefined ? undefined : { queue });
}

async function joined(node: NitroNode): Promise<void> {
  if (node.neighbors().length > 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no neighbor within ${kJoinTimeoutMs} ms`)), kJoinTimeoutMs);
  });
  try {
    await Promise.race([node.once('neighbor:up'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves on SIGINT or SIGTERM with its name (or with 'stop' when `stop` is called). */
function untilSignal(): { done: Promise<'SIGINT' | 'SIGTERM' | 'stop'>; stop: () => void } {
  let stop = () => {};
  const done = new Promise<'SIGINT' | 'SIGTERM' | 'stop'>((resolve) => {
    const finish = (why: 'SIGINT' | 'SIGTERM' | 'stop') => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(why);
    };
    const onInt = () => finish('SIGINT');
    const onTerm = () => finish('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    stop = () => finish('stop');
  });
  return { done, stop };
}

/** The documented exit code of an interrupted command (128 + SIGINT, as shells report it). */
const kExitInterrupted = 130;

function boundedNumber(value: unknown, max: number, what: string): number {
  const n = value === undefined ? 0 : Number(value);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new NitroError('INVALID_ARGUMENT', `${what} must be a number in [0, ${max}]`);
  return n;
}

/** Resolves after `ms`, or rejects with CANCELLED when the call is cancelled or times out. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new NitroError('CANCELLED', 'call cancelled'));
    const timer = setTimeout(() => { signal.removeEventListener('abort', stop); resolve(); }, ms);
    const stop = () => { clearTimeout(timer); reject(new NitroError('CANCELLED', 'call cancelled')); };
    signal.addEventListener('abort', stop, { once: true });
  });
}

type Request = Record<string, unknown> | undefined;

/** The Echo.* debug service (--echo): echo (with a response header and trailer, for
 *  `nitro call --show-metadata`), call context, a bounded stream, a bounded wait. */
function serveEcho(node: NitroNode & RpcNodeMethods): string[] {
  node.handle('Echo.Echo', (req: unknown, ctx: HandlerContext) => {
    ctx.header['x-nitro-echo'] = ctx.method;
    ctx.trailer['x-nitro-echo'] = 'done';
    return req;
  });
  node.handle('Echo.Context', (_req: unknown, ctx: HandlerContext) => ({
    peer: ctx.peer, service: ctx.service, method: ctx.method, metadata: ctx.metadata,
    deadlineInMs: ctx.deadline === undefined ? null : ctx.deadline - Date.now(),
  }));
  node.handle('Echo.Count', async function* (req: Request, ctx: HandlerContext) {
    const to = boundedNumber(req?.to ?? 3, kEchoCountMax, 'to');
    const intervalMs = boundedNumber(req?.intervalMs, kEchoWaitMsMax, 'intervalMs');
    for (let n = 0; n < to; n++) {
      if (n > 0 && intervalMs > 0) await wait(intervalMs, ctx.signal);
      yield n;
    }
  });
  node.handle('Echo.Sleep', async (req: Request, ctx: HandlerContext) => {
    const ms = boundedNumber(req?.ms, kEchoWaitMsMax, 'ms');
    await wait(ms, ctx.signal);
    return { sleptMs: ms };
  });
  return ['Echo.Echo', 'Echo.Context', 'Echo.Count', 'Echo.Sleep'];
}

/** The shell line that calls this node, printed with 'ready'. */
function callHint(node: NitroNode): string | undefined {
  if (!node.address) return undefined;
  const quote = (s: string) => (/^[\w./:@=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `nitro call ${quote(node.name)} Node.Info '{}' --peer ${quote(node.address)}`;
}

async function start(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string' }, host: { type: 'string' }, name: { type: 'string' },
      bootstrap: { type: 'string', multiple: true }, subscribe: { type: 'string', multiple: true },
      echo: { type: 'boolean' },
    },
  });
  // A first node (no contact) listens on the default port; one that joins others only dials
  // unless told to listen (two nodes on one host cannot share a port).
  const port = values.listen === undefined ? (values.bootstrap?.length ? undefined : kDefaultPort) : Number(values.listen);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new Error('--listen needs a port');
  const node = await createNode({
    name: values.name,
    transport: websocket({ listen: port, host: values.host, url: values.bootstrap }),
  }).catch((err: Error) => {
    if (values.listen === undefined) err.message += ` (the default port; pass --listen PORT, or --listen 0 for any free port)`;
    throw err;
  });
  printEvents(node);
  for (const topic of values.subscribe ?? []) printMessages(node, topic);
  if (values.echo) serveEcho(node);
  const methods = node.rpc.methods();  // Node.Info is served by every node (rpc-node.ts)
  out({ event: 'ready', id: node.id, name: node.name, address: node.address, methods, call: callHint(node) });
  await untilSignal().done;
  await node.close();
  out({ event: 'closed' });
  return 0;
}

async function publish(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { peer: { type: 'string', multiple: true }, bootstrap: { type: 'string', multiple: true }, 'wait-ms': { type: 'string' } },
  });
  const [topic, json] = positionals;
  const peers = peersOf(values);
  if (topic === undefined || json === undefined) throw new Error('usage: nitro publish [--peer URL] <topic> <json>');
  const value = JSON.parse(json) as NitroValue;
  const node = await createNode({ transport: websocket({ url: peers }) });
  try {
    await joined(node);
    const seq = await node.publish(topic, value);
    // A short stay lets the overlay ask us for the payload (Plumtree GRAFT) before we leave.
    await new Promise((r) => setTimeout(r, Number(values['wait-ms'] ?? 200)));
    out({ event: 'published', topic, seq, from: node.id });
  } finally {
    await node.close();
  }
  return 0;
}

async function subscribe(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      peer: { type: 'string', multiple: true }, bootstrap: { type: 'string', multiple: true }, count: { type: 'string' },
      queue: { type: 'string' },
    },
  });
  const [topic] = positionals;
  const peers = peersOf(values);
  if (topic === undefined) throw new Error('usage: nitro subscribe [--peer URL] [--count N] [--queue NAME] <topic>');
  const count = values.count === undefined ? Infinity : Number(values.count);
  const node = await createNode({ transport: websocket({ url: peers }) });
  const signal = untilSignal();
  let seen = 0;
  printMessages(node, topic, () => {
    if (++seen >= count) signal.stop();
  }, values.queue);
  await joined(node);
  out({ event: 'subscribed', topic, id: node.id });
  const why = await signal.done;
  await node.close();
  return why === 'SIGINT' ? kExitInterrupted : 0;
}

function wrap(name: string, fn: (argv: string[]) => Promise<number>) {
  return async (argv: string[]): Promise<number> => {
    try {
      return await fn(argv);
    } catch (err) {
      const code = (err as { code?: string }).code;
      console.error(`nitro ${name}: ${err instanceof Error ? err.message : String(err)}${code ? ` (${code})` : ''}`);
      return 2;
    }
  };
}

/** `nitro node start ...` */
export const nodeCommand = wrap('node', async (argv) => {
  const [op, ...rest] = argv;
  if (op === 'start') return start(rest);
  throw new Error(`usage: nitro node start [--listen PORT (default ${kDefaultPort} without --bootstrap)] [--host HOST] [--name NAME] [--bootstrap URL]... [--subscribe TOPIC]... [--echo]`);
});
/** `nitro publish --bootstrap URL <topic> <json>` */
export const publishCommand = wrap('publish', publish);
/** `nitro subscribe --bootstrap URL [--count N] <topic>` */
export const subscribeCommand = wrap('subscribe', subscribe);
