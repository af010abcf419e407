// node.auth.revoke(record, { chain, tokens }): the revocation is gossiped and committed on the chain
// (op auth.revoke), resolving at commit; every validator's access protocol is handed the committed
// record (stats committedRevocations) and refuses the token. A record signed by a key outside the
// token's chain is refused by the chain itself (PERMISSION_DENIED from execution). The case of a
// node that was down during the gossip and catches up from blocks or a snapshot is
// native-tests/auth_chain_sim_test.cpp.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, memory, MemoryNetwork, chainKeys, init, Identity, issueToken, revocationRecord } from '../js/dist/node.js';
import { waitFor, overlayConnected } from './support/wait.mjs';

await init();
const root = Identity.generate();
const stranger = Identity.generate();
const network = new MemoryNetwork();
const seeds = [1, 2, 3, 4].map((n) => new Uint8Array(32).fill(0x40 + n));
const holderId = Identity.fromSeed(seeds[0]).peerId;
const token = issueToken(root.exportSeed(), { subject: holderId, ttlMs: 3600e3, grants: [{ op: 'publish', resource: 'orders.>' }] });

const nodes = [];
for (let i = 0; i < 4; i++) {
  nodes.push(await createNode({ name: `ac${i}`, identity: seeds[i], transport: memory({ network }), auth: {
    authorities: [root.peerId], rules: 'allow chain.submit auth.revoke any', tokens: i === 0 ? [token] : [] } }));
}
after(async () => { for (const n of nodes) await n.close(); });
await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), { what: 'overlay' });
const keys = nodes.map((_, i) => chainKeys(new Uint8Array(32).fill(i + 9)));
const set = nodes.map((n, i) => ({ id: n.id, blsPublicKey: keys[i].blsPublicKey, blsPop: keys[i].blsPop }));
const chains = nodes.map((n, i) => n.consensus({ name: 'acl', validators: set, blsSecretKey: keys[i].blsSecretKey, timeoutMs: 500 }));

test('a revocation committed on the chain is honoured by every validator', async () => {
  await waitFor(() => nodes.slice(1).every((n) => n.auth.allowed(holderId, 'publish', 'orders.created')),
    { timeoutMs: 10000, what: "the holder's token known everywhere" });
  const forged = revocationRecord(stranger.exportSeed(), token);  // signed, but not by an issuer in its chain
  await assert.rejects(nodes[2].auth.revoke(forged, { chain: chains[2], tokens: [token] }),
    (e) => e.code === 'PERMISSION_DENIED' && /not an issuer in the token's chain/.test(e.message));
  assert.ok(nodes.slice(1).every((n) => n.auth.allowed(holderId, 'publish', 'orders.created')));  // a stranger revokes nothing

  assert.throws(() => nodes[1].auth.revoke(revocationRecord(root.exportSeed(), token), { chain: chains[1] }), /needs tokens/);
  await nodes[1].auth.revoke(revocationRecord(root.exportSeed(), token), { chain: chains[1], tokens: [token] });
  await waitFor(() => nodes.every((n) => n.auth.stats().committedRevocations >= 1), { timeoutMs: 10000, what: 'committed everywhere' });
  for (const n of nodes.slice(1)) {
    assert.equal(n.auth.allowed(holderId, 'publish', 'orders.created'), false);
    assert.throws(() => n.auth.check(holderId, 'publish', 'orders.created'), /its token: revoked/);
  }
});
