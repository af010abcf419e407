// Token references across processes: alice presents four tokens to the verifier (each node its
// own process, over WebSocket) — a broad one, a narrow one, an expired one and one that is revoked
// during the test. A call or a document write that names one token is decided with exactly that
// token: allowed when it grants the operation, refused with PERMISSION_DENIED naming the reason
// when it does not (although another of alice's tokens would have allowed it), when it expired,
// was revoked, or was never presented. Without a reference every live token counts, as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init, issueToken, revocationRecord, inspectToken } from '../js/dist/node.js';
import { authNodes, b64, keys } from './support/auth-procs.mjs';
import { waitFor } from './support/wait.mjs';

await init();
const root = keys(), alice = keys(), verifier = keys();
const hour = 3600_000;
const rules = 'deny rpc Greeter.Admin any';

const broad = issueToken(root.seed, { subject: alice.id, ttlMs: hour,
  grants: [{ op: 'rpc', resource: 'Greeter.*' }, { op: 'doc.write', resource: 'notes' }, { op: 'doc.write', resource: 'plans' }] });
const narrow = issueToken(root.seed, { subject: alice.id, ttlMs: hour, grants: [{ op: 'rpc', resource: 'Greeter.Hello' }] });
const expired = issueToken(root.seed, { subject: alice.id, notBeforeMs: Date.now() - 2 * hour, expiresMs: Date.now() - hour,
  grants: [{ op: 'rpc', resource: 'Greeter.*' }] });
const doomed = issueToken(root.seed, { subject: alice.id, ttlMs: hour, grants: [{ op: 'rpc', resource: 'Greeter.*' }] });
const stranger = issueToken(root.seed, { subject: alice.id, ttlMs: hour, grants: [{ op: 'rpc', resource: 'Greeter.*' }] });  // never presented
const id = (t) => inspectToken(t).id;

const spawnNode = authNodes({ root, rules });

const v = spawnNode('verifier', verifier, [], []);
const vReady = await v.next((e) => e.ev === 'ready', 20000, 'ready');
const a = spawnNode('alice', alice, [broad, narrow, expired, doomed], [vReady.address]);
await a.next((e) => e.ev === 'ready', 20000, 'ready');
await v.request('serve', { methods: ['Greeter.Hello', 'Greeter.Bye', 'Greeter.Admin'] });
await waitFor(async () => (await v.request('stats')).peers.length >= 1, { timeoutMs: 15000, what: 'alice linked to the verifier' });

const call = (method, token) => a.request('call', { service: 'verifier', method, ...(token ? { token: id(token) } : {}) });
const stats = async () => (await v.request('stats')).auth;

test('without a reference any live token counts; with one, exactly that token decides', async () => {
  const plain = await waitFor(async () => { const r = await call('Greeter.Bye'); return r.result ? r : null; },
    { timeoutMs: 10000, what: "alice's tokens known to the verifier" });
  assert.equal(plain.result.method, 'Greeter.Bye');
  assert.equal((await call('Greeter.Bye', broad)).result?.method, 'Greeter.Bye');
  assert.equal((await call('Greeter.Hello', narrow)).result?.method, 'Greeter.Hello');
  const before = (await stats()).deniedBy['referenced token'] ?? 0;
  const cases = [
    ['Greeter.Bye', narrow, 'grants no such operation'],  // broad would allow it: not consulted
    ['Greeter.Hello', expired, 'expired'],
    ['Greeter.Hello', stranger, 'unknown on this link'],
  ];
  for (const [method, token, why] of cases) {
    const r = await call(method, token);
    assert.equal(r.code, 'PERMISSION_DENIED', `${method} with ${why}: ${JSON.stringify(r)}`);
    assert.ok(r.message.includes(`denied by referenced token '${id(token).slice(0, 16)}' (its token: ${why})`), r.message);
  }
  // A deny rule still wins over the referenced token's grant.
  const admin = await call('Greeter.Admin', broad);
  assert.equal(admin.code, 'PERMISSION_DENIED');
  assert.match(admin.message, /rule 1 'deny rpc Greeter\.Admin any'/);
  const s = await stats();
  assert.equal(s.deniedBy['referenced token'] - before, cases.length, JSON.stringify(s));
  assert.ok(s.refusedTokens['denied: grants no such operation'] >= 1, JSON.stringify(s));
});

test('a referenced token revoked on the verifier is refused while the others still work', async () => {
  assert.equal((await call('Greeter.Hello', doomed)).result?.method, 'Greeter.Hello');
  await a.request('revoke', { record: b64(revocationRecord(root.seed, doomed)) });  // gossiped from alice's node
  const r = await waitFor(async () => { const x = await call('Greeter.Hello', doomed); return x.code ? x : null; },
    { timeoutMs: 5000, what: 'the revocation honoured' });
  assert.equal(r.code, 'PERMISSION_DENIED');
  assert.match(r.message, /\(its token: revoked\)/);
  assert.equal((await call('Greeter.Hello', broad)).result?.method, 'Greeter.Hello');
  assert.equal((await call('Greeter.Hello')).result?.method, 'Greeter.Hello');
});

test('document writes name their token: the verifier applies or rejects them by that token alone', async () => {
  await v.request('docState', { doc: 'notes' });  // opens the documents on the verifier
  await v.request('docState', { doc: 'plans' });
  await a.request('docSet', { doc: 'notes', token: id(broad), key: 'k', value: 1 });
  await a.request('docSet', { doc: 'plans', token: id(narrow), key: 'k', value: 2 });  // broad grants plans; narrow does not
  await waitFor(async () => (await v.request('docState', { doc: 'notes' })).map.k === 1, { timeoutMs: 10000, what: 'the notes write applied' });
  const rejected = await v.next((e) => e.ev === 'doc:rejected' && e.doc === 'plans', 10000, 'the plans write rejected');
  assert.equal(rejected.code, 'PERMISSION_DENIED');
  assert.equal(rejected.from, alice.id);
  assert.ok(rejected.message.includes(`doc.write plans`) && rejected.message.includes(`referenced token '${id(narrow).slice(0, 16)}' (its token: grants no such operation)`),
    rejected.message);
  assert.equal((await v.request('docState', { doc: 'plans' })).map.k, undefined);
});
