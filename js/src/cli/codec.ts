// `nitro codec encode '<json>'` prints msgpack hex; `nitro codec decode <hex>` prints JSON.
import { codec } from '../codec.js';
import { NitroError } from '../errors.js';

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export async function codecCommand(argv: string[]): Promise<number> {
  const [op, arg] = argv;
  try {
    if (op === 'encode' && arg !== undefined) {
      console.log(toHex(codec.encode(JSON.parse(arg))));
      return 0;
    }
    if (op === 'decode' && arg !== undefined) {
      if (!/^([0-9a-fA-F]{2})*$/.test(arg)) throw new NitroError('INVALID_ARGUMENT', 'not hex');
      const value = codec.decode(Buffer.from(arg, 'hex'));
      console.log(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
      return 0;
    }
  } catch (err) {
    console.error(`nitro codec: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  console.error('usage: nitro codec encode <json> | nitro codec decode <hex>');
  return 2;
}
