// Shared setup of the access-control tests that run each node in its own process
// (support/auth-node.mjs): identities, and nodes spawned with the same authority and rules.
import { after } from 'node:test';
import { Identity } from '../../js/dist/node.js';
import { ChildProcess } from './child.mjs';

const script = new URL('./auth-node.mjs', import.meta.url).pathname;
export const b64 = (b) => Buffer.from(b).toString('base64');

// A fresh identity as the seed (to hand to a child process) and its peer id.
export function keys() {
  const id = Identity.generate();
  const out = { seed: id.exportSeed(), id: id.peerId };
  id.dispose();
  return out;
}

// spawnNode(name, who, tokens, bootstrap): a node process trusting `root`, with `rules`; every
// process is closed (or killed) after the file's tests.
export function authNodes({ root, rules }) {
  const procs = [];
  after(async () => {
    for (const p of procs) {
      await p.request('close').catch(() => p.child.kill());
      await p.exited;
    }
  });
  return function spawnNode(name, who, tokens, bootstrap) {
    const auth = { authorities: [root.id], rules, tokens: tokens.map(b64) };
    const p = new ChildProcess(name, script, [JSON.stringify({ name, seed: Buffer.from(who.seed).toString('hex'), bootstrap, auth })]);
    procs.push(p);
    return p;
  };
}
