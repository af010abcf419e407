// Five Node.js processes over WebRTC (node-datachannel): p0 is a WebSocket rendezvous, p1..p4 join
// through it with [websocket({ url }), webrtc()] and upgrade to direct data channels signalled
// through the overlay. Then the rendezvous is killed and the four keep delivering pub/sub in order
// over WebRTC alone; a SIGKILLed WebRTC process is detected within a bound; the three survivors
// still deliver, call each other's RPC and sync a document; close() lets every process exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { waitFor, within } from './support/wait.mjs';
import { spawnNodes } from './support/child.mjs';
import { assertInOrder, connected, overlayStates } from './support/overlay.mjs';

const script = fileURLToPath(new URL('./support/webrtc-node.mjs', import.meta.url));
const kDetectMs = 8000;
const timers = { probeIntervalMs: 250, probeTimeoutMs: 150, suspicionTimeoutMs: 1000 };

const nodes = spawnNodes(script, { env: { ...process.env, NITRO_TEST_TIMERS: JSON.stringify(timers) } });
const procs = nodes.all;
const spawn = (name, mode, bootstrap) => nodes.start(name, [name, mode, ...bootstrap]);

test('webrtc: 5 processes — direct data channels, the rendezvous dies, pub/sub, failure detection, RPC and docs continue', async (t) => {
  const rendezvous = await spawn('p0', 'ws', []);
  assert.match(rendezvous.address, /^ws:\/\/127\.0\.0\.1:\d+$/);
  const rtc = [];
  for (let i = 1; i < 5; i++) rtc.push(await spawn(`p${i}`, 'rtc', [rendezvous.address]));
  for (const p of rtc) assert.equal(p.address, `rtc:${p.id}`);
  const all = [rendezvous, ...rtc];

  const started = Date.now();
  await waitFor(async () => {
    const s = await overlayStates(all);
    return connected(s) && rtc.every((p) => s[p.id].rtcPeers.length > 0);
  }, { timeoutMs: 20000, intervalMs: 100, what: 'every WebRTC process with a direct data channel' });
  t.diagnostic(`every WebRTC process has a direct link ${Date.now() - started} ms after the last joined`);

  for (const p of all) await p.request('subscribe', { topic: 'chat' });
  const [a, b] = [rtc[0], rtc[2]];
  for (let i = 0; i < 10; i++) {
    await a.request('publish', { topic: 'chat', value: { from: 'a', i } });
    await b.request('publish', { topic: 'chat', value: { from: 'b', i } });
  }
  await waitFor(() => all.every((p) => p.messages('chat').length === 20), { timeoutMs: 15000, what: '20 messages everywhere' });

  // The rendezvous goes: the WebRTC processes keep an overlay of their own.
  rendezvous.child.kill('SIGKILL');
  await rendezvous.exited;
  await waitFor(async () => {
    const s = await overlayStates(rtc);
    return connected(s) && rtc.every((p) => !s[p.id].peers.includes(rendezvous.id));
  }, { timeoutMs: 15000, intervalMs: 100, what: 'the WebRTC overlay without the rendezvous' });
  const before = Object.fromEntries(rtc.map((p) => [p.name, p.messages('chat').length]));
  for (let i = 10; i < 20; i++) await a.request('publish', { topic: 'chat', value: { from: 'a', i } });
  await waitFor(() => rtc.every((p) => p.messages('chat').length === before[p.name] + 10), { timeoutMs: 15000, what: 'deliveries over WebRTC only' });
  for (const p of rtc) assertInOrder(p, 'chat', a.id, 20);

  // A WebRTC process is killed: its neighbors notice within the bound.
  const states = await overlayStates(rtc);
  const victim = rtc.find((p) => p !== a && p !== b);
  const rest = rtc.filter((p) => p !== victim);
  const neighbors = rest.filter((p) => states[p.id].neighbors.includes(victim.id));
  const mark = Object.fromEntries(rest.map((p) => [p.name, p.events.length]));
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  await Promise.all(neighbors.map((p) => p.next((e, i) => i >= mark[p.name] && e.id === victim.id && e.ev === 'neighbor:down',
    kDetectMs, 'neighbor:down of the victim')));
  t.diagnostic(`failure of ${victim.name} detected by ${neighbors.length} neighbors in ${Date.now() - killedAt} ms`);
  await waitFor(async () => connected(await overlayStates(rest)), { timeoutMs: 15000, intervalMs: 100, what: 'the survivors overlay' });
  const before2 = Object.fromEntries(rest.map((p) => [p.name, p.messages('chat').length]));
  for (let i = 20; i < 30; i++) await a.request('publish', { topic: 'chat', value: { from: 'a', i } });
  await waitFor(() => rest.every((p) => p.messages('chat').length === before2[p.name] + 10), { timeoutMs: 15000, what: 'deliveries after the kill' });
  for (const p of rest) assertInOrder(p, 'chat', a.id, 30);

  // RPC and a replicated document between two survivors, over WebRTC.
  const { response } = await a.request('call', { service: b.name, method: 'Echo.Say', request: { text: 'hi' } });
  assert.deepEqual(response, { echo: 'hi', by: b.name });
  await a.request('docSet', { key: 'c1', value: { title: 'over rtc' } });
  await waitFor(async () => (await b.request('docGet', { key: 'c1' })).value?.title === 'over rtc', { timeoutMs: 10000, intervalMs: 100, what: 'the doc edit at b' });
  const { signal } = await b.request('stats');
  assert.ok(signal.opened >= 1, `b opened WebRTC sessions: ${JSON.stringify(signal)}`);
  assert.equal(signal.refusedDecode + signal.refusedInvalid + signal.refusedForged, 0);

  await Promise.all(rest.map((p) => p.request('close')));
  const exits = await within(Promise.all(rest.map((p) => p.exited)), 10000, 'processes exiting after close()');
  for (const e of exits) assert.deepEqual(e, { code: 0, signal: null });
});
