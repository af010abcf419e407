// The slim entry with the caller instantiating nitro.wasm itself (init({ instantiateWasm })).
import { init, codec } from '@gonitro/nitro/slim';
import type { InstantiateWasm } from '@gonitro/nitro/slim';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

let calls = 0;
const instantiateWasm: InstantiateWasm = (imports, receive) => {
  calls++;
  void readFile(fileURLToPath(import.meta.resolve('@gonitro/nitro/nitro.wasm')))
    .then((bytes) => WebAssembly.instantiate(bytes, imports))
    .then(({ instance, module }) => receive(instance, module));
};
await init({ instantiateWasm });
await init();  // idempotent: no second instantiation
console.log(JSON.stringify({ calls, decoded: codec.decode(codec.encode([1, 'two'])) }));
