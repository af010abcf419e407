// Presence (who is here, their name, colour and cursor) behind a small adapter, so the page does
// not care where it comes from. Today it is plain pub/sub on `demo.presence`: each page publishes
// its state when it changes (at most every kSendEveryMs) and as a heartbeat, and forgets a peer
// not heard from for kForgetMs. The interface (set, others, onChange, close) is what a document
// awareness or node presence API would give, so switching is a change to this file only.
const kTopic = 'demo.presence';
const kSendEveryMs = 60;
const kHeartbeatMs = 2000;
const kForgetMs = 6500;
const kPeersMax = 64;

export function pubsubPresence(node, initial) {
  let mine = { ...initial };
  const peers = new Map();  // peer id -> { state, seenMs }
  const listeners = new Set();
  let lastSentMs = 0;
  let pending;
  const changed = () => { for (const fn of listeners) fn(); };
  const send = () => {
    pending = undefined;
    lastSentMs = performance.now();
    node.publish(kTopic, { ...mine, left: false }).catch(() => {});
  };
  const schedule = () => {
    if (pending) return;
    pending = setTimeout(send, Math.max(0, kSendEveryMs - (performance.now() - lastSentMs)));
  };
  const off = node.subscribe(kTopic, (msg, meta) => {
    if (meta.from === node.id || typeof msg !== 'object' || msg === null) return;
    if (msg.left) peers.delete(meta.from);
    else if (peers.has(meta.from) || peers.size < kPeersMax) peers.set(meta.from, { state: msg, seenMs: performance.now() });
    changed();
  });
  const heartbeat = setInterval(() => {
    const now = performance.now();
    let gone = false;
    for (const [id, p] of peers) if (now - p.seenMs > kForgetMs) gone = peers.delete(id);
    if (now - lastSentMs >= kHeartbeatMs) send();
    if (gone) changed();
  }, 500);
  send();
  return {
    /** Merges `partial` into this page's state and tells the others (throttled). */
    set(partial) { mine = { ...mine, ...partial }; schedule(); },
    get me() { return mine; },
    /** [{ id, state }] of the other pages present, by peer id. */
    others() { return [...peers].map(([id, p]) => ({ id, state: p.state })).sort((a, b) => (a.id < b.id ? -1 : 1)); },
    onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); },
    close() {
      clearInterval(heartbeat);
      clearTimeout(pending);
      node.publish(kTopic, { left: true }).catch(() => {});
      off();
    },
  };
}
