// A 'greeter' service instance in its own process, on the node's WebSocket transport. Prints one
// JSON line {"address","id"} when ready; exits when stdin closes. argv: [bootstrap url]
import { createNode, websocket, NitroError } from '../../js/dist/node.js';

const [bootstrap] = process.argv.slice(2);
const node = await createNode({ name: 'greeter', transport: websocket({ listen: 0, url: bootstrap ? [bootstrap] : [] }) });
node.handle('Greeter.Hello', async (req) => ({ msg: `hi ${req.name}`, from: node.id }));
node.handle('Greeter.Count', async function* (req) { for (let i = 0; i < req.to; i++) yield i; });
node.handle('Greeter.Fail', async () => { throw new NitroError('PERMISSION_DENIED', 'not you'); });
process.stdout.write(JSON.stringify({ address: node.address, id: node.id }) + '\n');
process.stdin.on('end', () => node.close());
process.stdin.resume();
