// What the `npm start` nodes do on the board: they take turns (a lock on their chain decides whose
// turn it is) and the holder adds a card, keeps the lock a few seconds, and releases it. Only the
// newest node cards stay, so the board never fills up with them.
import { replicaOf } from '../js/dist/node.js';
import { addCard, listCards, removeCard, kColors } from '../web-demo/board-model.js';

const kHoldMs = 5000;
const kLockTtlMs = 15000;
const kNodeCardsMax = 5;
const kFacts = [
  ['Gossip', 'HyParView keeps a small active view of neighbors; Plumtree spreads each message along a tree and repairs it lazily.'],
  ['CRDT', 'This board is one Nitro document: every tab and node holds a replica, and edits merge without a server.'],
  ['Consensus', 'Four validators run HotStuff-2: a block commits with votes from three of them, signed with BLS.'],
  ['Beacon', 'alpha, beta and gamma sign each round together; any two of their shares make the group signature.'],
  ['Locks', 'Whose turn it is to write this card was decided by a lock held on the chain, with a fencing token.'],
  ['Sans-IO', 'The C++ core reads no clock and opens no socket: the same code runs here, in the browser and in the simulator.'],
  ['Presence', 'Open a second tab: you will see its cursor and name move over the board.'],
];

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

function welcome(doc) {
  if (doc.getMap('cards').has('welcome')) return;
  addCard(doc, {
    id: 'welcome', title: 'Welcome to the board', color: kColors[0], by: 'alpha', kind: 'node', at: 0,
    body: 'Click a card to edit it; every open tab and the Node processes see your typing live. Add your own with “+ card”.',
  });
}

// The facts go round in order across all the nodes of this process (one turn each).
let nextFact = 0;

function addTurnCard(node, doc, token) {
  const [title, body] = kFacts[nextFact++ % kFacts.length];
  addCard(doc, {
    id: `${node.name}-${token}`, title: `${title} · from ${node.name}`, body, color: kColors[nextFact % kColors.length],
    by: node.name, kind: 'node', at: Date.now(),
  });
  const old = listCards(doc).filter((c) => c.kind === 'node' && c.id !== 'welcome');
  for (const c of old.slice(0, Math.max(0, old.length - kNodeCardsMax))) removeCard(doc, c.id);
}

/** Runs until `signal` aborts. */
export async function curate(node, doc, signal) {
  await replicaOf(doc)?.ready;
  if (node.name === 'alpha') welcome(doc);
  while (!signal.aborted) {
    let lock;
    try {
      lock = await node.sync.lock('curator', { ttlMs: kLockTtlMs, signal });
      addTurnCard(node, doc, lock.token);
      await sleep(kHoldMs, signal);
    } catch {
      if (!signal.aborted) await sleep(1000, signal);  // a chain still forming, or a lapsed lease
    }
    // Stopping, the lease simply lapses: a release would wait for a commit the closing chain may not make.
    if (lock && !signal.aborted) await lock.release().catch(() => {});
  }
}
