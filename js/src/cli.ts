#!/usr/bin/env node
// The `nitro` command: starts nodes and speaks to them. Each command group lives in cli/<group>.ts
// and exports a function taking argv and returning the exit code.
import { init } from './node.js';

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
    about: 'publish --bootstrap URL <topic> <json>',
    load: async () => (await import('./cli/node.js')).publishCommand,
  },
  subscribe: {
    about: 'subscribe --bootstrap URL [--count N] <topic>',
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
  codec: { about: 'codec encode <json> | codec decode <hex>', load: async () => (await import('./cli/codec.js')).codecCommand },
};

function usage(): string {
  const lines = Object.entries(groups).map(([name, g]) => `  nitro ${name.padEnd(10)} ${g.about}`);
  return ['usage:', ...lines].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  const entry = group ? groups[group] : undefined;
  if (!entry) {
    console.error(group && group !== '--help' ? `nitro: unknown command '${group}'\n${usage()}` : usage());
    return group === '--help' ? 0 : 2;
  }
  await init();
  return (await entry.load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`nitro: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
