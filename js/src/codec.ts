// msgpack encode/decode of Nitro values through the core codec (one implementation, native and wasm).
import { unwrap } from './errors.js';
import { getModule } from './wasm.js';

/** What the codec carries: msgpack's data model as JS values. */
export type NitroValue =
  | null | undefined | boolean | number | bigint | string | Uint8Array
  | NitroValue[] | { [key: string]: NitroValue } | Map<NitroValue, NitroValue>;

export const codec = {
  /** Encodes a value to msgpack. Throws INVALID_ARGUMENT for values outside the data model. */
  encode(value: NitroValue): Uint8Array {
    return unwrap<Uint8Array>(getModule().codecEncode(value));
  },
  /** Decodes one msgpack value. Throws DecodeError (code DECODE_ERROR) on malformed bytes. */
  decode(bytes: Uint8Array): NitroValue {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('codec.decode expects a Uint8Array');
    return unwrap<NitroValue>(getModule().codecDecode(bytes));
  },
};
