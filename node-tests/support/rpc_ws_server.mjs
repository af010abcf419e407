// A Nitro RPC server in its own process for node-tests/rpc.test.mjs: WebSocket on loopback,
// prints "port N" once listening. Handlers cover every call kind and the error paths.
import { WebSocketServer } from 'ws';
import { init, NitroError } from '../../js/dist/node.js';
import { Rpc, SocketLink } from '../../js/dist/rpc.js';

await init();
const link = new SocketLink(process.argv[2] ?? 'server');
const rpc = new Rpc(link, { name: 'greeter' });
rpc.handle('Greeter.Hello', async (req, ctx) => ({ msg: 'hi ' + req.name, trace: ctx.metadata.trace ?? null, pid: process.pid }));
rpc.handle('Greeter.Count', async function* (req) {
  for (let i = 0; i < req.to; i++) yield i;
});
rpc.handle('Math.Sum', async (reqs) => {
  let sum = 0;
  for await (const n of reqs) sum += n;
  return sum;
}, { kind: 'client' });
rpc.handle('Chat.Echo', async function* (reqs) {
  for await (const r of reqs) yield String(r).toUpperCase();
}, { kind: 'bidi' });
rpc.handle('Users.Get', async () => { throw new NitroError('NOT_FOUND', 'no such user', { id: 7 }); });
let cancelled = 0;
rpc.handle('Slow.Op', (req, ctx) => new Promise((resolve) => {
  ctx.signal.addEventListener('abort', () => { cancelled++; resolve(null); });
}));
rpc.handle('Stats.Cancelled', async () => cancelled);

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (ws) => void link.add(ws).catch(() => undefined));
wss.on('listening', () => process.stdout.write(`port ${wss.address().port}\n`));
