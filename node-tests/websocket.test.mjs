// Five Node.js processes, each one Nitro node, over WebSocket on loopback: pub/sub works across
// processes, a SIGKILLed process is detected by the others (peer:down / neighbor:down within a
// bound: its sockets reset), a SIGSTOPped one too (sockets stay open: the SWIM probes must find
// it), the rest keep delivering; after close() every process exits by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { waitFor, within } from './support/wait.mjs';
import { spawnNodes } from './support/child.mjs';
import { assertInOrder, connected, overlayStates } from './support/overlay.mjs';

const script = fileURLToPath(new URL('./support/ws-node.mjs', import.meta.url));
const kDetectMs = 8000;  // bound for failure detection
// Faster probing than the defaults so a hung process is found in ~2 s (still tolerant of a loaded machine).
const timers = { probeIntervalMs: 250, probeTimeoutMs: 150, suspicionTimeoutMs: 1000 };

const nodes = spawnNodes(script, { env: { ...process.env, NITRO_TEST_TIMERS: JSON.stringify(timers) } });
const procs = nodes.all;

test('websocket: 5 processes — pub/sub; killed and hung processes are detected; the rest keep delivering', async (t) => {
  const first = await nodes.start('p0', ['p0']);
  assert.match(first.address, /^ws:\/\/127\.0\.0\.1:\d+$/);
  for (let i = 1; i < 5; i++) {
    // Each joins through the first node and one earlier node: no single point for the overlay.
    const via = [first.address, procs[procs.length - 1].address].filter(Boolean);
    await nodes.start(`p${i}`, [`p${i}`, ...new Set(via)]);
  }

  await waitFor(async () => {
    const states = await overlayStates(procs);
    return procs.every((p) => states[p.id].neighbors.length > 0) && connected(states);
  }, { timeoutMs: 15000, intervalMs: 100, what: 'a connected overlay of 5 processes' });

  for (const p of procs) await p.request('subscribe', { topic: 'chat' });
  const [a, b] = [procs[1], procs[3]];
  for (let i = 0; i < 10; i++) {
    await a.request('publish', { topic: 'chat', value: { from: 'a', i } });
    await b.request('publish', { topic: 'chat', value: { from: 'b', i } });
  }
  await waitFor(() => procs.every((p) => p.messages('chat').length === 20), { timeoutMs: 15000, what: '20 messages everywhere' });
  for (const p of procs) {
    assertInOrder(p, 'chat', a.id, 10);
    assertInOrder(p, 'chat', b.id, 10);
    assert.deepEqual(p.messages('chat').filter((m) => m.from === a.id).map((m) => m.msg), Array.from({ length: 10 }, (_, i) => ({ from: 'a', i })));
  }

  // Kill one process that others are linked to; everyone linked to it must notice.
  const states = await overlayStates(procs);
  const victim = procs[2];
  const rest = procs.filter((p) => p !== victim);
  const linked = rest.filter((p) => states[p.id].peers.includes(victim.id));
  const neighbors = rest.filter((p) => states[p.id].neighbors.includes(victim.id));
  assert.ok(linked.length > 0, 'the victim has links');
  const mark = Object.fromEntries(rest.map((p) => [p.name, p.events.length]));
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  assert.equal((await victim.exited).signal, 'SIGKILL');
  const after = (p) => (e, i) => i >= mark[p.name] && e.id === victim.id;
  await Promise.all([
    ...linked.map((p) => p.next((e, i) => after(p)(e, i) && e.ev === 'peer:down', kDetectMs, 'peer:down of the victim')),
    ...neighbors.map((p) => p.next((e, i) => after(p)(e, i) && e.ev === 'neighbor:down', kDetectMs, 'neighbor:down of the victim')),
  ]);
  const detectMs = Date.now() - killedAt;
  assert.ok(detectMs < kDetectMs);
  t.diagnostic(`failure of ${victim.name} detected by ${linked.length} linked processes in ${detectMs} ms`);

  await waitFor(async () => connected(await overlayStates(rest)), { timeoutMs: 15000, intervalMs: 100, what: 'the overlay of the 4 survivors' });
  const before = Object.fromEntries(rest.map((p) => [p.name, p.messages('chat').length]));
  for (let i = 10; i < 20; i++) await a.request('publish', { topic: 'chat', value: { from: 'a', i } });
  await waitFor(() => rest.every((p) => p.messages('chat').length === before[p.name] + 10), { timeoutMs: 15000, what: 'deliveries after the kill' });
  for (const p of rest) assertInOrder(p, 'chat', a.id, 20);

  // A hung process (SIGSTOP: its sockets stay open) is found by probing and leaves the views.
  const hung = rest.find((p) => p !== a && states[p.id]);
  const live = rest.filter((p) => p !== hung);
  const hungStates = await overlayStates(live);
  const hungNeighbors = live.filter((p) => hungStates[p.id].neighbors.includes(hung.id));
  const mark2 = Object.fromEntries(live.map((p) => [p.name, p.events.length]));
  const stoppedAt = Date.now();
  hung.child.kill('SIGSTOP');
  await Promise.all(hungNeighbors.map((p) => p.next(
    (e, i) => i >= mark2[p.name] && e.id === hung.id && e.ev === 'neighbor:down', kDetectMs, 'neighbor:down of the hung process')));
  t.diagnostic(`hung ${hung.name} dropped by ${hungNeighbors.length} neighbors in ${Date.now() - stoppedAt} ms`);
  await waitFor(async () => {
    const s = await overlayStates(live);
    return connected(s) && live.every((p) => !s[p.id].neighbors.includes(hung.id));
  }, { timeoutMs: 15000, intervalMs: 100, what: 'the overlay of the 3 live processes' });
  const before2 = Object.fromEntries(live.map((p) => [p.name, p.messages('chat').length]));
  for (let i = 20; i < 30; i++) await a.request('publish', { topic: 'chat', value: { from: 'a', i } });
  await waitFor(() => live.every((p) => p.messages('chat').length === before2[p.name] + 10), { timeoutMs: 15000, what: 'deliveries with a hung process' });
  for (const p of live) assertInOrder(p, 'chat', a.id, 30);
  hung.child.kill('SIGKILL');

  // close(): each process exits by itself (timers cleared, sockets and the server closed).
  await Promise.all(live.map((p) => p.request('close')));
  const exits = await within(Promise.all(live.map((p) => p.exited)), 10000, 'processes exiting after close()');
  for (const e of exits) assert.deepEqual(e, { code: 0, signal: null });
});

test('websocket: a node shares an existing http server ({ server, path }); closing the node leaves it running', async () => {
  const { createServer } = await import('node:http');
  const { createNode, websocket } = await import('../js/dist/node.js');
  const http = createServer((req, res) => res.end('app'));
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const hub = await createNode({ name: 'hub', transport: websocket({ server: http, path: '/nitro' }) });
  assert.equal(hub.address, `ws://127.0.0.1:${http.address().port}/nitro`);
  const client = await createNode({ name: 'client', transport: websocket({ url: hub.address }) });
  const got = [];
  hub.subscribe('t', (msg) => got.push(msg));
  assert.ok(client.neighbors().includes(hub.id), 'createNode resolved after joining the hub');
  await client.publish('t', 'over the shared port');
  await waitFor(() => got.length === 1, { what: 'delivery at the hub' });
  assert.equal(got[0], 'over the shared port');
  await Promise.all([client.close(), hub.close()]);
  assert.equal(http.listening, true);
  assert.equal(await (await fetch(`http://127.0.0.1:${http.address().port}/`)).text(), 'app');
  await new Promise((resolve) => http.close(resolve));
});
