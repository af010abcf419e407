// Access control across processes: three nodes (each its own process, over WebSocket) run the same
// rules and trust one authority. The verifier serves RPC and holds a document; alice holds a valid
// token; mallory presents, in turn, no token, a forged one, an expired one, a delegation that widens
// its parent, and a narrowing delegation that is then revoked on alice's node. Each refusal is
// PERMISSION_DENIED naming the deciding rule and is counted in the verifier's stats().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init, issueToken, delegateToken, revocationRecord, inspectToken } from '../js/dist/node.js';
import { authNodes, b64, keys } from './support/auth-procs.mjs';
import { waitFor } from './support/wait.mjs';

const kRevocationBoundMs = 5000;  // a revocation on one node is enforced on the verifier within this

await init();
const root = keys(), alice = keys(), mallory = keys(), verifier = keys();
const hour = 3600_000;

const rules = [
  'deny rpc Admin.> any',
  'allow subscribe orders.> any',
  `deny subscribe secret.> peer:${mallory.id}`,
  'allow subscribe secret.> any',
].join('\n');
const aliceToken = issueToken(root.seed, {
  subject: alice.id, ttlMs: hour,
  grants: [{ op: 'rpc', resource: 'Greeter.*' }, { op: 'rpc', resource: 'Admin.*' }, { op: 'publish', resource: 'orders.>' },
    { op: 'publish', resource: 'secret.>' }, { op: 'doc.write', resource: 'board' }],
});

const spawnNode = authNodes({ root, rules });

const v = spawnNode('verifier', verifier, [], []);
const vReady = await v.next((e) => e.ev === 'ready', 20000, 'ready');
const a = spawnNode('alice', alice, [aliceToken], [vReady.address]);
const m = spawnNode('mallory', mallory, [], [vReady.address]);
await a.next((e) => e.ev === 'ready', 20000, 'ready');
await m.next((e) => e.ev === 'ready', 20000, 'ready');
await v.request('serve', { methods: ['Greeter.Hello', 'Admin.Reset'] });
await waitFor(async () => (await v.request('stats')).peers.length >= 2, { timeoutMs: 15000, what: 'both peers linked to the verifier' });

const call = (p, method) => p.request('call', { service: 'verifier', method });
const stats = async () => (await v.request('stats')).auth;

test('rules allow and deny calls; a deny wins over a token grant', async () => {
  const ok = await waitFor(async () => { const r = await call(a, 'Greeter.Hello'); return r.result ? r : null; },
    { timeoutMs: 10000, what: 'alice call allowed' });
  assert.equal(ok.result.method, 'Greeter.Hello');
  const admin = await call(a, 'Admin.Reset');
  assert.equal(admin.code, 'PERMISSION_DENIED');
  assert.match(admin.message, /rule 1 'deny rpc Admin\.> any'/);
  const none = await call(m, 'Greeter.Hello');
  assert.equal(none.code, 'PERMISSION_DENIED');
  assert.match(none.message, /denied by default/);
  const s = await stats();
  assert.ok(s.deniedBy['rule 1'] >= 1 && s.deniedBy.default >= 1, JSON.stringify(s));
});

test('publishes and subscriptions follow tokens and rules', async () => {
  await v.request('subscribe', { topic: 'orders.created' });
  await m.request('subscribe', { topic: 'secret.plans' });
  await a.request('subscribe', { topic: 'secret.plans' });
  const before = (await stats()).deniedBy.default ?? 0;
  await m.request('publish', { topic: 'orders.created', value: { by: 'mallory' } });
  await a.request('publish', { topic: 'orders.created', value: { by: 'alice' } });
  await v.next((e) => e.ev === 'message' && e.msg.by === 'alice', 10000, 'alice order');
  // mallory's message arrived too and was refused (counted), so it is not merely late.
  await waitFor(async () => ((await stats()).deniedBy.default ?? 0) > before, { timeoutMs: 10000, what: 'publish denial counted' });
  assert.equal(v.events.some((e) => e.ev === 'message' && e.msg.by === 'mallory'), false);
  // alice may publish on secret.>, every node refuses to forward it to mallory.
  await a.request('publish', { topic: 'secret.plans', value: { n: 1 } });
  await a.request('publish', { topic: 'secret.plans', value: { n: 2 } });
  await a.next((e) => e.ev === 'message' && e.topic === 'secret.plans' && e.msg.n === 2, 10000, 'own secret');
  await waitFor(async () => ((await stats()).deniedBy['rule 3'] ?? 0) >= 1, { timeoutMs: 10000, what: 'subscribe denial for mallory' });
  assert.equal(m.events.some((e) => e.ev === 'message' && e.topic === 'secret.plans'), false);
});

test('document writes need doc.write', async () => {
  const before = (await stats()).deniedBy.default ?? 0;
  await a.request('docSet', { key: 'alice', value: 1 });
  await m.request('docSet', { key: 'mallory', value: 1 });
  await waitFor(async () => (await v.request('docState')).map.alice === 1, { timeoutMs: 10000, what: "alice's write" });
  const rejected = await v.next((e) => e.ev === 'doc:rejected' && e.from === mallory.id, 10000, "mallory's write rejected");
  assert.equal(rejected.code, 'PERMISSION_DENIED');
  assert.match(rejected.message, /doc\.write.*denied by default|denied by default.*doc\.write/);
  assert.ok(((await stats()).deniedBy.default ?? 0) > before);
  assert.equal((await v.request('docState')).map.mallory, undefined);
});

async function presentAndCall(tokens, { raw = false } = {}) {
  if (raw) await m.request('sendRaw', { to: verifier.id, tokens: tokens.map(b64) });
  else await m.request('setTokens', { tokens: tokens.map(b64) });
  // The new bundle reaches the verifier over the link; the call after it is decided with it.
  return waitFor(async () => { const r = await call(m, 'Greeter.Hello'); return r.code === 'PERMISSION_DENIED' ? r : null; },
    { timeoutMs: 5000, what: 'a refusal' });
}

test('forged, expired and widening tokens are refused and counted', async () => {
  const genuine = issueToken(root.seed, { subject: mallory.id, ttlMs: hour, grants: [{ op: 'rpc', resource: 'Greeter.*' }] });
  const forged = Uint8Array.from(genuine);
  forged[forged.length - 1] ^= 1;  // in the signature
  const r1 = await presentAndCall([forged], { raw: true });  // an honest node refuses to present it
  assert.match(r1.message, /denied by default.*forged/);
  const expired = issueToken(root.seed, { subject: mallory.id, notBeforeMs: Date.now() - 2 * hour, expiresMs: Date.now() - hour,
    grants: [{ op: 'rpc', resource: 'Greeter.*' }] });
  const r2 = await presentAndCall([expired]);
  assert.match(r2.message, /its token: expired/);
  const narrowParent = issueToken(root.seed, { subject: alice.id, ttlMs: hour, grants: [{ op: 'rpc', resource: 'Greeter.Hello.Only' }] });
  const widened = delegateToken(alice.seed, narrowParent, { subject: mallory.id, grants: [{ op: 'rpc', resource: 'Greeter.*' }] });
  const r3 = await presentAndCall([narrowParent, widened]);
  assert.match(r3.message, /widens its parent/);
  const s = await stats();
  assert.ok(s.refusedTokens.forged >= 1, JSON.stringify(s));
  assert.ok(s.refusedTokens['denied: expired'] >= 1, JSON.stringify(s));
  assert.ok(s.refusedTokens['delegated token widens its parent'] >= 1, JSON.stringify(s));
});

test('a revocation published on one node is enforced on the verifier within the bound', async () => {
  const delegated = delegateToken(alice.seed, aliceToken, { subject: mallory.id, grants: [{ op: 'rpc', resource: 'Greeter.Hello' }] });
  await m.request('setTokens', { tokens: [aliceToken, delegated].map(b64) });
  const ok = await waitFor(async () => { const r = await call(m, 'Greeter.Hello'); return r.result ? r : null; },
    { timeoutMs: 5000, what: 'the narrowing delegation allowed' });
  assert.equal(ok.result.method, 'Greeter.Hello');
  const record = revocationRecord(alice.seed, delegated);  // alice issued it: she may revoke it
  assert.equal(inspectToken(delegated).id.length, 64);
  const t0 = Date.now();
  await a.request('revoke', { record: b64(record) });
  const denied = await waitFor(async () => { const r = await call(m, 'Greeter.Hello'); return r.code === 'PERMISSION_DENIED' ? r : null; },
    { timeoutMs: kRevocationBoundMs, intervalMs: 20, what: 'revocation enforced' });
  const tookMs = Date.now() - t0;
  assert.match(denied.message, /revoked/);
  assert.ok(tookMs <= kRevocationBoundMs);
  const s = await stats();
  assert.ok(s.revocations >= 1 && s.refusedTokens['denied: revoked'] >= 1, JSON.stringify(s));
  console.log(`# revocation enforced on the verifier after ${tookMs} ms`);
});
