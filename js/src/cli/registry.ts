// `nitro services [--peer URL]` and `nitro describe <service> [--peer URL]`: what the registry of
// a short-lived client node learns from the overlay's service advertisements (the services with
// live instances, and per instance its peer id and metadata); describe also asks one instance
// for its methods (Node.Info). Output: JSON lines. Exit codes: 0 ok, 1 the service is unknown or
// its Node.Info failed, 2 usage or network.
import { parseArgs } from 'node:util';
import { createNode } from '../create.js';
import { NitroError } from '../errors.js';
import { websocket } from '../host/transports/websocket.js';
import { peersOf, toJson } from './node.js';

const kWaitMsDefault = 1500;  // ads arrive right after the link comes up; this bounds the wait
const kPollMs = 20;

const SERVICES_USAGE = 'usage: nitro services [--peer URL (default $NITRO_PEER)] [--wait-ms N]';
const DESCRIBE_USAGE = 'usage: nitro describe <service> [--peer URL (default $NITRO_PEER)] [--wait-ms N]';

function options(argv: string[]) {
  return parseArgs({
    args: argv, allowPositionals: true,
    options: { peer: { type: 'string', multiple: true }, 'wait-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}

type Client = Awaited<ReturnType<typeof createNode>>;

// A client-only node joined to --peer whose registry has heard ads for `wanted` (any when
// undefined) or for `waitMs`.
async function withClient<T>(argv: string[], wanted: string | undefined, waitMs: number, fn: (node: Client) => Promise<T>): Promise<T> {
  const node = await createNode({ transport: websocket({ url: peersOf(options(argv).values) }), joinTimeoutMs: 0 });
  try {
    const until = Date.now() + waitMs;
    const heard = () => (wanted === undefined ? node.rpc.registry.services().some((s) => s !== node.name) : node.rpc.registry.count(wanted) > 0);
    while (!heard() && Date.now() < until) await new Promise((r) => setTimeout(r, kPollMs));
    if (node.peers().length === 0) throw new NitroError('UNAVAILABLE', `no secure link to ${peersOf(options(argv).values).join(', ')}`);
    return await fn(node);
  } finally {
    await node.close();
  }
}

function waitMsOf(values: { 'wait-ms'?: string }): number {
  const ms = values['wait-ms'] === undefined ? kWaitMsDefault : Number(values['wait-ms']);
  if (!Number.isInteger(ms) || ms < 0) throw new UsageError('--wait-ms needs a non-negative integer');
  return ms;
}

class UsageError extends Error {}

async function guarded(usage: string, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(err as Error).message}\n${usage}`);
      return 2;
    }
    const code = (err as { code?: string }).code ?? 'UNKNOWN';
    console.error(`error: ${code}: ${(err as Error).message}`);
    return code === 'NOT_FOUND' || code === 'UNIMPLEMENTED' ? 1 : 2;
  }
}

/** `nitro services`: one JSON line per service: { service, instances }. */
export function servicesCommand(argv: string[]): Promise<number> {
  return guarded(SERVICES_USAGE, async () => {
    const { values, positionals } = options(argv);
    if (values.help) {
      console.log(SERVICES_USAGE);
      return 0;
    }
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    return withClient(argv, undefined, waitMsOf(values), async (node) => {
      for (const service of node.rpc.registry.services()) {
        if (service === node.name) continue;  // this throwaway client
        console.log(toJson({ service, instances: node.rpc.registry.count(service) }));
      }
      return 0;
    });
  });
}

/** `nitro describe <service>`: { service, instances: [{ peer, metadata }], methods }. */
export function describeCommand(argv: string[]): Promise<number> {
  return guarded(DESCRIBE_USAGE, async () => {
    const { values, positionals } = options(argv);
    if (values.help) {
      console.log(DESCRIBE_USAGE);
      return 0;
    }
    const [service, ...extra] = positionals;
    if (!service || extra.length) throw new UsageError('give exactly one <service>');
    return withClient(argv, service, waitMsOf(values), async (node) => {
      const instances = node.rpc.registry.instances(service).map(({ peer, metadata }) => ({ peer, metadata }));
      if (instances.length === 0) throw new NitroError('NOT_FOUND', `no instance of '${service}' is advertised`);
      const info = await node.call<{ methods?: string[] }>(service, 'Node.Info', {}, { timeoutMs: 5000, peer: instances[0]!.peer });
      console.log(toJson({ service, instances, methods: info.methods ?? [] }));
      return 0;
    });
  });
}
