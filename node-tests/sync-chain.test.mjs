// The sync conformance suite against the chain backend: every case runs on a chain of (at least)
// four validator processes linked by WebSockets, node.sync over the chain's built-in "sync"
// module (node.sync.use(chainSync(chain))), leases on committed block time.
import { syncConformance } from './sync-conformance.mjs';

syncConformance('chain', async () => ({ backend: 'chain' }), { processesMin: 4, killRounds: 1 });
