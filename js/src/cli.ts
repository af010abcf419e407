#!/usr/bin/env node
// The `nitro` command: starts nodes and speaks to them. Each command group lives in cli/<group>.ts
// and exports a function taking argv and returning the exit code.
import { init, versions } from './node.js';

type Command = (argv: string[]) => Promise<number>;

const groups: Record<string, { about: string; load: () => Promise<Command> }> = {
  beacon: {
    about: 'beacon verify --scheme <id> --public-key <hex> --round <n> --signature <hex> [--previous-signature <hex>]',
    load: async () => (await import('./cli/beacon.js')).beaconCommand,
  },
  node: {
    about: 'node start [--listen PORT (default 7400)] [--host H] [--name N] [--bootstrap URL]... [--subscribe TOPIC]... [--echo]',
    load: async () => (await import('./cli/node.js')).nodeCommand,
  },
  publish: {
    about: 'publish [--peer URL] <topic> <json>',
    load: async () => (await import('./cli/node.js')).publishCommand,
  },
  subscribe: {
    about: 'subscribe [--peer URL] [--count N] [--queue NAME] <topic>   (topic: NATS wildcards * and >)',
    load: async () => (await import('./cli/node.js')).subscribeCommand,
  },
  call: {
    about: "call <service> <Method> '<json>' [--peer ws://host:port] [--timeout-ms N] [--stream] [--metadata k=v]...",
    load: async () => (await import('./cli/call.js')).callCommand,
  },
  token: {
    about: 'token keygen | issue | delegate | inspect | revoke (capability tokens; see `nitro token`)',
    load: async () => (await import('./cli/token.js')).tokenCommand,
  },
  req: {
    about: "req <service> <Method> '<json>' [--content-type msgpack|json|protobuf] [--peer URL] ...   (same as call; protobuf: {\"$bytes\": hex})",
    load: async () => (await import('./cli/call.js')).callCommand,
  },
  services: {
    about: 'services [--peer URL] [--wait-ms N]   (services with live instances, from the registry)',
    load: async () => (await import('./cli/registry.js')).servicesCommand,
  },
  describe: {
    about: 'describe <service> [--peer URL] [--wait-ms N]   (instances and methods)',
    load: async () => (await import('./cli/registry.js')).describeCommand,
  },
  codec: { about: 'codec encode <json> | codec decode <hex>', load: async () => (await import('./cli/codec.js')).codecCommand },
};

const FOOTER = `The address of the node to speak to: --peer URL, else $NITRO_PEER, else ws://127.0.0.1:7400.
Exit codes: 0 ok, 1 the remote side returned an error, 2 usage or network error, 130 interrupted.
'nitro <command> --help' describes one command; 'nitro --version' prints the version.`;

function usage(): string {
  const lines = Object.entries(groups).map(([name, g]) => `  nitro ${name.padEnd(10)} ${g.about}`);
  return ['usage:', ...lines, '', FOOTER].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  if (group === '--version' || group === '-V') {
    console.log(versions.nitro);
    return 0;
  }
  const entry = group ? groups[group] : undefined;
  if (!entry) {
    const help = group === '--help' || group === '-h';
    console.error(group && !help ? `nitro: unknown command '${group}'\n${usage()}` : usage());
    return help ? 0 : 2;
  }
  // Per-command help (commands with their own, richer text print it themselves).
  if ((rest.includes('--help') || rest.includes('-h')) && !['call', 'req', 'services', 'describe'].includes(group!)) {
    console.log(`usage: nitro ${group} ${entry.about}\n\n${FOOTER}`);
    return 0;
  }
  await init();
  return (await entry.load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`nitro: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;  // usage or network
  },
);
