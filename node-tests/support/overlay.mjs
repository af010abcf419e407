// Checks on the overlay of node processes (child.mjs) that answer the "state" command.
import assert from 'node:assert/strict';

/** Whether the neighbor graph in `states` ({ id: { neighbors } }) is connected. */
export function connected(states) {
  const ids = Object.keys(states);
  const seen = new Set([ids[0]]);
  const stack = [ids[0]];
  while (stack.length) {
    for (const n of states[stack.pop()].neighbors) {
      if (!seen.has(n) && states[n]) { seen.add(n); stack.push(n); }
    }
  }
  return seen.size === ids.length;
}

/** Every process's "state" reply, by node id. */
export async function overlayStates(list) {
  const states = {};
  for (const p of list) states[p.id] = await p.request('state');
  return states;
}

/** `proc` received exactly seqs 1..count from `publisherId` on `topic`, in order. */
export function assertInOrder(proc, topic, publisherId, count) {
  const seqs = proc.messages(topic).filter((m) => m.from === publisherId).map((m) => m.seq);
  assert.deepEqual(seqs, Array.from({ length: count }, (_, i) => i + 1), `${proc.name}: messages of ${publisherId.slice(0, 8)} in order`);
}
