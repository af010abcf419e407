// A Nitro node with a dynamic config, in its own process, for config.test.mjs.
//   argv: one JSON object { name, file, bootstrap?: [url] }
//   sources: defaults, env('NITRO_TEST_APP_'), file(<file>), replicated('app'); validate: port is
//   an integer in 1..65535.
//   out: {"ev":"ready","id","address","config"}, {"ev":"watch","path","value","previous"} for paths
//        '' (everything), {"ev":"config-error","message"}
//   in:  {"cmd":"set","path","value"} (a replicated change), {"cmd":"get"}, {"cmd":"state"}, {"cmd":"close"}
import { createNode, websocket, defaults, env, file, replicated } from '../../js/dist/node.js';
import { send, serveCommands } from './serve.mjs';

const { name, file: path, bootstrap = [] } = JSON.parse(process.argv[2]);
const node = await createNode({ name, transport: websocket({ listen: 0, url: bootstrap }) });
const shared = replicated('app');
const config = await node.config({
  sources: [defaults({ port: 8080, greeting: 'hello', limits: { rps: 10 } }), env('NITRO_TEST_APP_'), file(path), shared],
  validate: (c) => (Number.isInteger(c.port) && c.port >= 1 && c.port <= 65535) || `port must be an integer in 1..65535, got ${JSON.stringify(c.port)}`,
});
config.watch('', (value, previous) => send({ ev: 'watch', path: '', value, previous }));
config.watch('greeting', (value, previous) => send({ ev: 'watch', path: 'greeting', value, previous }));
config.on('error', (e) => send({ ev: 'config-error', message: e.message }));
send({ ev: 'ready', id: node.id, address: node.address, config: config.all() });

const commands = {
  set: ({ path: p, value }) => {
    shared.set(p, value);
    return {};
  },
  get: () => ({ config: config.all(), port: config.getNumber('port'), greeting: config.getString('greeting'), rps: config.getNumber('limits.rps') }),
  state: () => ({ neighbors: node.neighbors() }),
  close: async () => {
    await config.close();
    await node.close();
    return {};
  },
};
serveCommands(commands);
