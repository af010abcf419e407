// The payload budget's app: a browser node with pub/sub, RPC and documents, importing only what it
// uses (a namespace import, as main.js does for the tests, keeps every export).
import { init, createNode, websocket, Doc } from '@gonitro/nitro';

await init();
const node = await createNode({ name: 'budget', transport: websocket({ url: 'ws://127.0.0.1:1' }) });
node.subscribe('t', () => {});
await node.publish('t', 1);
await node.call('service', 'Service.Method', {});
node.doc('board').getText('notes').insert(0, 'x');
new Doc().getMap('m').set('k', 1);
