// Types per condition: a browser bundle's view of the package has indexedDbStore, not fileStore.
import { init, createNode, websocket, indexedDbStore, persist, Doc, loadBls, Beacon } from '@gonitro/nitro';
import type { DocStore, NitroNode } from '@gonitro/nitro';
// @ts-expect-error: fileStore is in the node entry's types only
import { fileStore } from '@gonitro/nitro';

export async function start(url: string): Promise<NitroNode> {
  await init({ locateFile: (file) => `/assets/${file}` });
  const store: DocStore = indexedDbStore('app');
  await persist(new Doc(), store, 'board');
  await loadBls();
  Beacon.verify({ scheme: 'bls-unchained-g1-rfc9380', publicKey: '', round: 1, signature: '' });
  return createNode({ name: 'page', transport: websocket({ url }) });
}
export { fileStore };
