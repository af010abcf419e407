// Codec throughput: Nitro's JS codec (`codec`, js/src/msgpack.ts) and the core codec reached through
// embind (wasm) next to msgpackr and @msgpack/msgpack on the same messages in one Node process,
// plus the core compiled natively for reference.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Packr } from 'msgpackr';
import { encode as mpEncode, decode as mpDecode } from '@msgpack/msgpack';
import { init, codec } from '../js/dist/node.js';
import { getModule } from '../js/dist/wasm.js';
import { opsPerSecond, table } from './lib.mjs';

function messages() {
  const small = { id: 42, method: 'Greeter.Hello', ok: true, name: 'nitro', tags: ['a', 'b'], ts: 1732190000123 };
  const medium = {
    order: 'ord-7781', customer: { id: 991, name: 'Ada Lovelace', email: 'ada@example.org', vip: false },
    lines: Array.from({ length: 12 }, (_, i) => ({ sku: `sku-${i}`, qty: i + 1, price: 9.99 + i })),
    note: 'leave at the door', created: 1732190000123,
  };
  const large = Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `item ${i}`, score: i * 0.5, flags: [i % 2 === 0, i % 3 === 0] }));
  return { 'small (~90 B)': small, 'medium (~700 B)': medium, 'large (1000 records, ~40 KB)': large };
}

function nativeRates(frames) {
  const exe = new URL('../build/native/codec_bench', import.meta.url).pathname;
  if (!existsSync(exe)) return null;
  const out = execFileSync(exe, frames.map((f) => Buffer.from(f).toString('hex'))).toString();
  return out.trim().split('\n').map((line) => JSON.parse(line));
}

export async function run() {
  await init();
  const packr = new Packr({ useRecords: false });
  const rows = [];
  const msgs = Object.entries(messages());
  const native = nativeRates(msgs.map(([, m]) => codec.encode(m)));
  msgs.forEach(([label, msg], i) => {
    const bytes = codec.encode(msg);
    const impls = {
      'nitro codec (JS)': [() => codec.encode(msg), () => codec.decode(bytes)],
      'nitro core via embind (wasm)': [() => getModule().codecEncode(msg), () => getModule().codecDecode(bytes)],
      msgpackr: [() => packr.pack(msg), () => packr.unpack(bytes)],
      '@msgpack/msgpack': [() => mpEncode(msg), () => mpDecode(bytes)],
    };
    const rates = Object.fromEntries(Object.entries(impls).map(([k, [enc, dec]]) => [k, [opsPerSecond(enc), opsPerSecond(dec)]]));
    if (native) rates['nitro native (C++ Value)'] = [native[i].encode_per_s, native[i].decode_per_s];
    const base = rates.msgpackr;
    for (const [impl, [enc, dec]] of Object.entries(rates)) {
      rows.push([label, impl, enc, `${(enc / base[0]).toFixed(2)}×`, dec, `${(dec / base[1]).toFixed(2)}×`]);
    }
    console.error(`codec: ${label} done (${bytes.length} bytes)`);
  });
  console.log(table(['message', 'implementation', 'encode ops/s', 'vs msgpackr', 'decode ops/s', 'vs msgpackr'], rows));
  console.log('\nMedians of 7 samples × 200 ms each. Same message objects, same encoded bytes for every implementation.');
}
