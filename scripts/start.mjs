// `npm start`: a local Nitro network and the web demo on localhost. Ctrl-C stops it cleanly.
//   PORT             the web server's port (default 8080; 0 picks a free one)
//   NITRO_DEMO_DATA  where the nodes keep the board (default build/demo-data)
import { serve } from './serve.mjs';
import { startNetwork } from './network.mjs';

const port = Number(process.env.PORT ?? 8080);
const network = await startNetwork({ dataDir: process.env.NITRO_DEMO_DATA ?? 'build/demo-data' });
const site = await serve({ port, routes: network.routes });
console.log(`\nNitro is running: ${network.describe()}`);
console.log(`Web demo: ${site.url}\n(Ctrl-C to stop)`);

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  await network.close();
  await site.close();
  process.exit(0);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
