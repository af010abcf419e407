// mDNS discovery: two Node processes on one LAN segment find each other and link up with no
// bootstrap address. The segment is a veth pair between two network namespaces this test makes
// (and removes), so the multicast never leaves them. Needs root (ip netns); skipped otherwise.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { within } from './support/wait.mjs';
import { spawnNodes } from './support/child.mjs';

const script = fileURLToPath(new URL('./support/mdns-node.mjs', import.meta.url));
const tag = String(process.pid % 100000);
const spaces = [`nitro-mdns-${tag}-a`, `nitro-mdns-${tag}-b`];
const hosts = ['10.231.77.1', '10.231.77.2'];
const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

function makeSegment() {
  for (const ns of spaces) ip('netns', 'add', ns);
  ip('link', 'add', `nva${tag}`, 'netns', spaces[0], 'type', 'veth', 'peer', 'name', `nvb${tag}`, 'netns', spaces[1]);
  for (const [i, ns] of spaces.entries()) {
    const dev = i === 0 ? `nva${tag}` : `nvb${tag}`;
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', `${hosts[i]}/24`, 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev);
  }
}

function removeSegment() {
  for (const ns of spaces) {
    try { ip('netns', 'del', ns); } catch { /* not created */ }
  }
}

let skip;
try {
  removeSegment(); // left over by a run that was killed
  makeSegment();
} catch (e) {
  removeSegment();
  skip = `no network namespaces here (${String(e.stderr ?? e.message).trim()})`;
}

const procs = spawnNodes(script);
after(() => removeSegment());

/** The node of mdns-node.mjs inside namespace `ns` (`ip netns exec` execs node: same pid). */
const startInNamespace = (name, ns, host) =>
  procs.spawn(name, [JSON.stringify({ name, host })], { launcher: ['ip', 'netns', 'exec', ns] });

test('mdns: two processes on one LAN segment find each other with no bootstrap', { skip, timeout: 60_000 }, async (t) => {
  const started = Date.now();
  const [a, b] = spaces.map((ns, i) => startInNamespace(`m${i}`, ns, hosts[i]));
  const [ra, rb] = await Promise.all([a, b].map((p) => p.next((e) => e.ev === 'ready', 20000, 'ready')));
  assert.equal(ra.address.startsWith(`ws://${hosts[0]}:`), true);
  // Each has only the other to learn of, and only by mDNS: a link is proof of discovery.
  await Promise.all([
    a.next((e) => e.ev === 'neighbor:up' && e.id === rb.id, 20000, 'neighbor b'),
    b.next((e) => e.ev === 'neighbor:up' && e.id === ra.id, 20000, 'neighbor a'),
  ]);
  t.diagnostic(`linked by mDNS ${Date.now() - started} ms after start`);
  assert.deepEqual((await a.request('state')).neighbors, [rb.id]);
  await Promise.all([a, b].map((p) => p.request('close')));
  const exits = await within(Promise.all([a.exited, b.exited]), 10000, 'exit after close()');
  for (const e of exits) assert.deepEqual(e, { code: 0, signal: null });
});
