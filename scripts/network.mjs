// The local Nitro network that `npm start` runs next to the web demo. It grows with the package:
// each feature that lands adds its part here and a panel in web-demo/.
import { init, codec, versions } from '../js/dist/node.js';

export async function startNetwork() {
  await init();
  const routes = {
    '/api/status': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ versions, frame: Buffer.from(codec.encode({ hello: 'nitro' })).toString('hex') }));
    },
  };
  return {
    routes,
    describe: () => `wasm core loaded (emscripten ${versions.emscripten})`,
    close: async () => {},
  };
}
