// msgpack encode/decode of Nitro values. The JS side encodes and decodes in TypeScript
// (js/src/msgpack.ts): walking values through embind cost 10-25x msgpackr. It follows the core
// codec (core/src/codec/codec.cpp) byte for byte and limit for limit; node-tests/codec.test.mjs and
// node-tests/rpc.test.mjs hold the two to the same golden frames and the same bytes.
import { decode, encode } from './msgpack.js';

/** What the codec carries: msgpack's data model as JS values. */
export type NitroValue =
  | null | undefined | boolean | number | bigint | string | Uint8Array
  | NitroValue[] | { [key: string]: NitroValue } | Map<NitroValue, NitroValue>;

export const codec = {
  /** Encodes a value to msgpack. Throws INVALID_ARGUMENT for values outside the data model. */
  encode(value: NitroValue): Uint8Array {
    return encode(value);
  },
  /** Decodes one msgpack value. Throws DecodeError (code DECODE_ERROR) on malformed bytes. */
  decode(bytes: Uint8Array): NitroValue {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('codec.decode expects a Uint8Array');
    return decode(bytes) as NitroValue;
  },
};
