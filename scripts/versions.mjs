// Prints the toolchain and dependency versions baked into the package (dist/wasm/versions.json).
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const sh = (cmd) => { try { return execSync(cmd, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch { return 'unknown'; } };
const deb = (pkg) => sh(`dpkg-query -W -f='\${Version}' ${pkg}`);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url)));
console.log("export default " + JSON.stringify({
  nitro: pkg.version,
  emscripten: deb('emscripten'),
  libsodium: deb('libsodium-dev'),
  'msgpack-cxx': deb('libmsgpack-cxx-dev'),
  blst: '@chainsafe/blst@0.2.11',
  node: process.version,
}, null, 2) + ";");
