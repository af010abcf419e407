// WebRTC signalling in one Node process: two nodes meet through a memory() relay and upgrade to a
// node-datachannel data channel signalled through it; bad signalling input sent at a node (frames
// built with @msgpack/msgpack, an encoder independent of the core) is refused with typed errors and
// counted; a peer that never answers costs a timeout.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { createNode, memory, MemoryNetwork, webrtc, signalStats, onSignalRefused, peerId, init } from '../js/dist/node.js';
import { waitFor, within } from './support/wait.mjs';

const nodes = [];
after(async () => {
  for (const n of nodes) await n.close();
});

async function node(options) {
  const n = await createNode(options);
  nodes.push(n);
  return n;
}

const kSdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n' +
  'c=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 AA:BB\r\n' +
  'a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n';

// [version, kind, to, from, hops, session, text, mid] (core/src/signal/wire.cpp)
function frame(kind, to, from, session, text, { hops = 0, mid = '' } = {}) {
  return encode([1, kind, peerId.toBytes(to), peerId.toBytes(from), hops, session, text, mid]);
}

const rtcPeers = (n) => n.peers().filter((p) => p.address.startsWith('rtc')).map((p) => p.id);

test('webrtc: two nodes meet through a relay node and connect directly over node-datachannel', async () => {
  await init();
  const network = new MemoryNetwork();
  const relay = await node({ name: 'relay', transport: memory({ network }) });
  const a = await node({ name: 'a', bootstrap: ['mem:relay'], transport: [webrtc(), memory({ network, bootstrapCount: 0 })] });
  const b = await node({ name: 'b', bootstrap: ['mem:relay'], transport: [webrtc(), memory({ network, bootstrapCount: 0 })] });
  assert.equal(a.address, `rtc:${a.id}`);
  await waitFor(() => rtcPeers(a).includes(b.id) && rtcPeers(b).includes(a.id), { timeoutMs: 15000, what: 'a direct link a <-> b' });
  assert.ok(signalStats(relay).relayed >= 2);
  assert.equal(signalStats(relay).dialed, 0);
  const got = [];
  b.subscribe('t', (msg) => got.push(msg));
  await relay.close();
  await waitFor(() => !a.peers().some((p) => p.id === relay.id), { timeoutMs: 10000, what: 'the relay gone' });
  await a.publish('t', { n: 1 });
  await waitFor(() => got.length === 1, { timeoutMs: 10000, what: 'delivery over the data channel' });
  // The link runs the secure handshake as any transport: the peer is who the signalling named.
  assert.ok(a.stats().handshakesOk >= 2);
  // A data channel that closes is reported like any transport closing: peer:down, sooner than
  // probing could find it (default timers: a 1 s probe period plus 3 s of suspicion).
  const down = a.once('peer:down', (e) => e.id === b.id);
  const closedAt = Date.now();
  await b.close();
  const ev = await within(down, 5000, 'peer:down of b at a');
  assert.ok(ev.address.startsWith('rtc'));
  assert.ok(Date.now() - closedAt < 3000, `peer:down after ${Date.now() - closedAt} ms`);
});

test('webrtc: bad signalling input is refused with typed errors and counted', async () => {
  await init();
  const network = new MemoryNetwork();
  const victim = await node({ name: 'victim', transport: [webrtc(), memory({ network })] });
  const attacker = await node({ name: 'attacker', bootstrap: ['mem:victim'], transport: memory({ network }) });
  const refused = [];
  onSignalRefused(victim, (error, peer) => refused.push({ code: error.code, name: error.name, peer }));
  await waitFor(() => victim.peers().some((p) => p.id === attacker.id), { what: 'a link attacker -> victim' });
  const send = (bytes) => attacker.sendDirect(victim.id, 'rtc', bytes);

  await send(new Uint8Array([0x93, 1, 2, 3]));                                       // garbage
  await send(frame(1, victim.id, attacker.id, 7, 'v=0\r\nnot a data channel\r\n'));   // malformed SDP
  await send(frame(3, victim.id, attacker.id, 99, 'candidate:1 1 udp 1 127.0.0.1 9 typ host', { mid: '0' })); // unknown session
  await send(frame(1, victim.id, relayless(), 8, kSdp));                              // forged origin
  await waitFor(() => refused.length === 4, { what: 'four refusals' });
  assert.deepEqual(refused.map((r) => r.code), ['DECODE_ERROR', 'INVALID_ARGUMENT', 'NOT_FOUND', 'PERMISSION_DENIED']);
  assert.equal(refused[0].name, 'DecodeError');
  assert.ok(refused.every((r) => r.peer === attacker.id));

  // A flood of offers: two sessions at most for one peer, the rest refused and counted.
  for (let s = 100; s < 400; s++) await send(frame(1, victim.id, attacker.id, s, kSdp));
  await waitFor(() => signalStats(victim).accepted + signalStats(victim).refusedFlood === 300, { what: 'flood counted' });
  const stats = signalStats(victim);
  // Accepted ones whose (fake) SDP the WebRTC stack rejects end at once and free their slot.
  assert.equal(stats.accepted + stats.refusedFlood, 300, JSON.stringify(stats));
  assert.ok(stats.accepted >= 2 && stats.sessions <= 2, JSON.stringify(stats));
  assert.equal(stats.refusedDecode, 1);
  assert.equal(stats.refusedInvalid, 1);
  assert.equal(stats.refusedUnknownSession, 1);
  assert.equal(stats.refusedForged, 1);
  assert.ok(refused.some((r) => r.code === 'RESOURCE_EXHAUSTED'));
  // A node without webrtc() only relays: an offer to it is refused as UNIMPLEMENTED.
  const plain = [];
  onSignalRefused(attacker, (error) => plain.push(error.code));
  await victim.sendDirect(attacker.id, 'rtc', frame(1, attacker.id, victim.id, 5, kSdp));
  await waitFor(() => plain.includes('UNIMPLEMENTED'), { what: 'an offer refused by a relay-only node' });
});

function relayless() {
  // Any valid peer id other than the sender's.
  return peerId.fromBytes(new Uint8Array(32).fill(7));
}

test('webrtc: a dial to a peer that never answers costs a timeout and no session', async () => {
  await init();
  const network = new MemoryNetwork();
  const silent = await node({ name: 'silent', transport: memory({ network }) });
  const dialer = await node({ name: 'dialer', bootstrap: ['mem:silent'], transport: [webrtc({ sessionTimeoutMs: 500 }), memory({ network, bootstrapCount: 0 })] });
  // The core dials rtc:<id> for a peer it learns with that address; here we ask it directly.
  await dialer.sendDirect(silent.id, 'x', new Uint8Array([1]));  // a link exists: signals route
  const ghost = peerId.fromBytes(new Uint8Array(32).fill(9));
  dialer.join(`rtc:${ghost}`);
  await waitFor(() => signalStats(dialer).dialed >= 1, { what: 'a dial' });
  await waitFor(() => signalStats(dialer).sessions === 0, { timeoutMs: 5000, what: 'the session timed out or was refused' });
  const s = signalStats(dialer);
  assert.equal(s.opened, 0);
  assert.ok(s.timedOut + s.closed >= 1, JSON.stringify(s));
});

test('webrtc: maxConnections caps the data channels of a node; the others still connect', async () => {
  await init();
  const network = new MemoryNetwork();
  const relay = await node({ name: 'hub', transport: memory({ network }) });
  const capped = await node({ name: 'capped', bootstrap: ['mem:hub'], activeViewMax: 4,
    transport: [webrtc({ maxConnections: 1 }), memory({ network, bootstrapCount: 0 })] });
  // Every WebRTC link of the capped node, as it comes and goes, from before the others exist.
  let open = 0;
  let most = 0;
  capped.on('peer:up', (e) => { if (e.address.startsWith('rtc')) most = Math.max(most, ++open); });
  capped.on('peer:down', (e) => { if (e.address.startsWith('rtc')) open--; });
  const others = [];
  for (const name of ['o1', 'o2', 'o3']) {
    others.push(await node({ name, bootstrap: ['mem:hub'], activeViewMax: 4, transport: [webrtc(), memory({ network, bootstrapCount: 0 })] }));
  }
  // The uncapped nodes link to each other directly; the capped one holds at most one data channel.
  await waitFor(() => others.every((o) => others.filter((x) => x !== o).every((x) => rtcPeers(o).includes(x.id) || rtcPeers(x).includes(o.id))),
    { timeoutMs: 15000, what: 'the uncapped nodes linked directly' });
  assert.ok(most <= 1, `capped node held ${most} WebRTC links at once`);
  assert.ok(signalStats(capped).sessions <= 1);
  assert.ok(relay.peers().length >= 4);
});
