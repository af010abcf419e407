// Waiting for conditions instead of sleeping: tests poll a predicate until it holds or time runs out.

/** Resolves when `predicate()` is truthy; rejects after `timeoutMs` naming `what`. */
export async function waitFor(predicate, { timeoutMs = 10000, intervalMs = 10, what = 'condition' } = {}) {
  const start = Date.now();
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** True when the neighbor graph of `nodes` is connected (every node reaches every other). */
export function overlayConnected(nodes) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const seen = new Set([nodes[0].id]);
  const stack = [nodes[0]];
  while (stack.length) {
    const node = stack.pop();
    for (const id of node.neighbors()) {
      if (!seen.has(id) && byId.has(id)) {
        seen.add(id);
        stack.push(byId.get(id));
      }
    }
  }
  return seen.size === nodes.length;
}

/** `promise`, or a rejection naming `what` after `timeoutMs` (the timer is cleared either way). */
export function within(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
