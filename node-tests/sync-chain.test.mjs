// The sync conformance suite against the chain backend: every case runs on a chain of (at least)
// four validator processes linked by WebSockets, node.sync over the chain's built-in "sync"
// module (node.sync.use(chainSync(chain))), leases on committed block time.
import { syncConformance } from './sync-conformance.mjs';

// The bound after a lapse is wider than etcd's: the lapse takes effect at the first block whose
// time reaches it, and killing a validator can cost the chain a view change first.
syncConformance('chain', async () => ({ backend: 'chain' }), { processesMin: 4, killRounds: 1, slackMs: 4000 });
