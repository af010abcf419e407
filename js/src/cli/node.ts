// `nitro node start`, `nitro publish`, `nitro subscribe`: a node over WebSocket from the shell.
// Output is JSON lines on stdout (one event per line), so scripts and tests can follow it.
//   nitro node start [--listen PORT] [--host HOST] [--name NAME] [--bootstrap URL]... [--subscribe TOPIC]...
//   nitro publish --bootstrap URL [--wait-ms MS] <topic> <json>
//   nitro subscribe --bootstrap URL [--count N] <topic>
import { parseArgs } from 'node:util';
import { createNode, websocket, type NitroNode, type NitroValue } from '../node.js';

const kJoinTimeoutMs = 10000;

/** JSON for Nitro values: bytes as {"$bytes": hex}, bigints as strings, Maps as entry lists. */
function toJson(value: unknown): string {
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

function printMessages(node: NitroNode, topic: string, onMessage = () => {}): void {
  node.subscribe(topic, (msg, meta) => {
    out({ event: 'message', topic, from: meta.from, seq: meta.seq, hops: meta.hops, msg });
    onMessage();
  });
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

/** Resolves on SIGINT or SIGTERM (or when `stop` is called). */
function untilSignal(): { done: Promise<void>; stop: () => void } {
  let stop = () => {};
  const done = new Promise<void>((resolve) => {
    const finish = () => {
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      resolve();
    };
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
    stop = finish;
  });
  return { done, stop };
}

async function start(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string' }, host: { type: 'string' }, name: { type: 'string' },
      bootstrap: { type: 'string', multiple: true }, subscribe: { type: 'string', multiple: true },
    },
  });
  const port = values.listen === undefined ? undefined : Number(values.listen);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new Error('--listen needs a port');
  const node = await createNode({
    name: values.name,
    transport: websocket({ listen: port, host: values.host, url: values.bootstrap }),
  });
  printEvents(node);
  for (const topic of values.subscribe ?? []) printMessages(node, topic);
  out({ event: 'ready', id: node.id, address: node.address });
  await untilSignal().done;
  await node.close();
  out({ event: 'closed' });
  return 0;
}

async function publish(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { bootstrap: { type: 'string', multiple: true }, 'wait-ms': { type: 'string' } },
  });
  const [topic, json] = positionals;
  if (!values.bootstrap?.length || topic === undefined || json === undefined) throw new Error('usage: nitro publish --bootstrap URL <topic> <json>');
  const value = JSON.parse(json) as NitroValue;
  const node = await createNode({ transport: websocket({ url: values.bootstrap }) });
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
    options: { bootstrap: { type: 'string', multiple: true }, count: { type: 'string' } },
  });
  const [topic] = positionals;
  if (!values.bootstrap?.length || topic === undefined) throw new Error('usage: nitro subscribe --bootstrap URL [--count N] <topic>');
  const count = values.count === undefined ? Infinity : Number(values.count);
  const node = await createNode({ transport: websocket({ url: values.bootstrap }) });
  const signal = untilSignal();
  let seen = 0;
  printMessages(node, topic, () => {
    if (++seen >= count) signal.stop();
  });
  await joined(node);
  out({ event: 'subscribed', topic, id: node.id });
  await signal.done;
  await node.close();
  return 0;
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
  throw new Error('usage: nitro node start [--listen PORT] [--host HOST] [--name NAME] [--bootstrap URL]... [--subscribe TOPIC]...');
});
/** `nitro publish --bootstrap URL <topic> <json>` */
export const publishCommand = wrap('publish', publish);
/** `nitro subscribe --bootstrap URL [--count N] <topic>` */
export const subscribeCommand = wrap('subscribe', subscribe);
