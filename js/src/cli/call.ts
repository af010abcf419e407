// `nitro call <service> <Method> '<json>' --url ws://host:port [--timeout ms] [--stream]
//   [--metadata k=v ...] [--json]`: one call against a running node that serves RPC over
// WebSocket (SocketLink); prints the response as JSON (one line per message with --stream).
// Exit codes: 0 ok, 1 the call failed (the error code is printed), 2 usage.
import { NitroError } from '../errors.js';
import { Rpc, SocketLink } from '../rpc.js';
import type { CallOptions } from '../rpc.js';

const USAGE = "usage: nitro call <service> <Method> '<json>' --url ws://host:port [--timeout ms] [--stream] [--metadata k=v] [--json]";

interface Parsed { service: string; method: string; request: unknown; url: string; stream: boolean; options: CallOptions }

function parse(argv: string[]): Parsed | undefined {
  const positional: string[] = [];
  const options: CallOptions = { timeoutMs: 10000, metadata: {} };
  let url = '';
  let stream = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') url = argv[++i] ?? '';
    else if (a === '--timeout') options.timeoutMs = Number(argv[++i]);
    else if (a === '--stream') stream = true;
    else if (a === '--json') options.contentType = 'json';
    else if (a === '--metadata') {
      const [k, ...v] = (argv[++i] ?? '').split('=');
      options.metadata![k] = v.join('=');
    } else positional.push(a);
  }
  if (positional.length < 2 || !url || !(Number(options.timeoutMs) > 0)) return undefined;
  const [service, method, json] = positional;
  return { service, method, request: json === undefined ? null : JSON.parse(json), url, stream, options };
}

const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));

export async function callCommand(argv: string[]): Promise<number> {
  let p: Parsed | undefined;
  try {
    p = parse(argv);
  } catch (err) {
    console.error(`nitro call: bad JSON request: ${(err as Error).message}`);
    return 2;
  }
  if (!p) {
    console.error(USAGE);
    return 2;
  }
  const { WebSocket } = await import('ws');
  const socket = new WebSocket(p.url);
  const link = new SocketLink(`cli-${process.pid}`);
  const hello = link.add(socket);
  try {
    await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
  } catch (err) {
    hello.catch(() => undefined);
    console.error(`nitro call: UNAVAILABLE: cannot connect to ${p.url}: ${(err as Error).message}`);
    return 1;
  }
  const rpc = new Rpc(link);
  try {
    const peer = await hello;
    rpc.registry.add(p.service, peer);
    if (p.stream) {
      for await (const item of rpc.stream(p.service, p.method, p.request, p.options)) console.log(show(item));
    } else {
      console.log(show(await rpc.call(p.service, p.method, p.request, p.options)));
    }
    return 0;
  } catch (err) {
    const e = err as NitroError;
    console.error(`nitro call: ${e.code ?? 'UNKNOWN'}: ${e.message}${e.details !== undefined ? ' ' + show(e.details) : ''}`);
    return 1;
  } finally {
    rpc.close();
    link.close();
  }
}
