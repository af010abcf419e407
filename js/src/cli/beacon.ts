// `nitro beacon verify --scheme <id> --public-key <hex> --round <n> --signature <hex>
//  [--previous-signature <hex>]`: prints {"round":n,"randomness":"<hex>","valid":true} and exits 0
// when the beacon verifies; exits 1 when it does not; exits 2 on malformed input (bad hex, wrong
// length, point not on the curve or not in the subgroup, unknown scheme, missing options).
import { Beacon } from '../beacon.js';
import { NitroError } from '../errors.js';

const usage =
  'usage: nitro beacon verify --scheme <scheme-id> --public-key <hex> --round <n> --signature <hex> [--previous-signature <hex>]';

const known = new Set(['scheme', 'public-key', 'round', 'signature', 'previous-signature']);

function parseOptions(argv: string[]): Map<string, string> {
  const opts = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new NitroError('INVALID_ARGUMENT', `unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.has(name)) throw new NitroError('INVALID_ARGUMENT', `unknown option --${name}`);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new NitroError('INVALID_ARGUMENT', `--${name} needs a value`);
    opts.set(name, value);
  }
  return opts;
}

function need(opts: Map<string, string>, name: string): string {
  const v = opts.get(name);
  if (v === undefined) throw new NitroError('INVALID_ARGUMENT', `missing --${name}`);
  return v;
}

export async function beaconCommand(argv: string[]): Promise<number> {
  const [op, ...rest] = argv;
  if (op !== 'verify') {
    console.error(usage);
    return 2;
  }
  let round: number;
  let result;
  try {
    const opts = parseOptions(rest);
    const roundText = need(opts, 'round');
    if (!/^\d{1,16}$/.test(roundText)) throw new NitroError('INVALID_ARGUMENT', `--round must be a non-negative integer`);
    round = Number(roundText);
    const previousSignature = opts.get('previous-signature');
    result = Beacon.verify({
      scheme: need(opts, 'scheme'),
      publicKey: need(opts, 'public-key'),
      round,
      signature: need(opts, 'signature'),
      ...(previousSignature !== undefined ? { previousSignature } : {}),
    });
  } catch (err) {
    const code = err instanceof NitroError ? ` (${err.code})` : '';
    console.error(`nitro beacon: ${err instanceof Error ? err.message : String(err)}${code}\n${usage}`);
    return 2;
  }
  if (!result.valid) {
    console.error(`nitro beacon: round ${round} does not verify: the signature is not the group's signature of this round`);
    console.log(JSON.stringify({ round, randomness: result.randomness, valid: false }));
    return 1;
  }
  console.log(JSON.stringify({ round, randomness: result.randomness, valid: true }));
  return 0;
}
