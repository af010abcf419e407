// The sync conformance suite against the etcd backend: a private etcd-server on loopback.
import { after } from 'node:test';
import { startEtcd } from './sync-etcd-server.mjs';
import { syncConformance } from './sync-conformance.mjs';

let etcd;
after(async () => { await etcd?.stop(); });

syncConformance('etcd', async () => {
  etcd = await startEtcd();
  return { backend: 'etcd', endpoints: etcd.endpoints };
});
