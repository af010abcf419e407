// The local Nitro network that `npm start` runs next to the web demo. It grows with the package:
// each feature that lands adds its part here and a panel in web-demo/.
import { readFile } from 'node:fs/promises';
import { init, codec, versions } from '../js/dist/node.js';

// Real drand beacons for the demo's verification panel, read from the shared test data when present.
const drandVectors = new URL('../../shared/vectors/drand.json', import.meta.url);

export async function startNetwork() {
  await init();
  const routes = {
    '/api/status': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ versions, frame: Buffer.from(codec.encode({ hello: 'nitro' })).toString('hex') }));
    },
    '/api/drand': async (_req, res) => {
      const body = await readFile(drandVectors).catch(() => null);
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(body ?? '{}');
    },
  };
  return {
    routes,
    describe: () => `wasm core loaded (emscripten ${versions.emscripten})`,
    close: async () => {},
  };
}
