// The Nitro board: this page runs its own Nitro node (the browser entry of @gonitro/nitro, served
// from /nitro/ by scripts/serve.mjs), joins the overlay of the `npm start` nodes over WebSocket and
// the other pages over WebRTC, and shows what the network does.
import {
  init, loadBls, versions, Beacon, createNode, websocket, webrtc, Simulation, indexedDbStore, replicaOf,
} from '/nitro/browser.js';
import { mountBoard, escapeHtml } from './board.js';
import { pubsubPresence } from './presence.js';
import { networkView } from './network-view.js';
import { simulationView } from './sim-view.js';

const $ = (id) => document.getElementById(id);
const kChatMax = 80;
const kCommitsShown = 6;
const kBeaconPollMs = 3000;
const kPeopleColors = ['#e11d48', '#7c3aed', '#0891b2', '#059669', '#d97706', '#db2777', '#2563eb', '#65a30d'];
const kFirstNames = ['Ada', 'Grace', 'Alan', 'Barbara', 'Leslie', 'Radia', 'Edsger', 'Frances', 'Ken', 'Margaret', 'Tony', 'Shafi'];
const kSlotsMax = 16;

const show = (el, text, ok = true) => { el.textContent = text; el.classList.toggle('ok', ok); el.classList.toggle('err', !ok); };
const short = (id) => id.slice(0, 8);
const pick = (list) => list[Math.floor(Math.random() * list.length)];

// ---- who I am (kept in localStorage) ------------------------------------------------------------
function myIdentity() {
  const name = localStorage.getItem('nitro-demo-name') || `${pick(kFirstNames)} ${Math.floor(Math.random() * 90 + 10)}`;
  const color = localStorage.getItem('nitro-demo-color') || pick(kPeopleColors);
  localStorage.setItem('nitro-demo-name', name);
  localStorage.setItem('nitro-demo-color', color);
  return { name, color };
}

// Each open tab of this browser keeps the board in its own IndexedDB database (tabs share
// IndexedDB; two replicas must not write one log): the first free slot, held by a Web Lock.
async function claimSlot() {
  if (!navigator.locks) return 0;
  for (let i = 0; i < kSlotsMax; i++) {
    const got = await new Promise((resolve) => {
      navigator.locks.request(`nitro-demo-slot-${i}`, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock ? new Promise(() => {}) : undefined;  // held for the life of the page
      });
    });
    if (got) return i;
  }
  return kSlotsMax + Math.floor(Math.random() * 1e6);
}

// ---- drand sample rounds, shipped with the page ---------------------------------------------------
async function verifySamples() {
  const out = $('beacon-output');
  const res = await fetch('drand-rounds.json');
  if (!res.ok) return show(out, 'no sample rounds on this server', false);
  const { chains } = await res.json();
  await loadBls();  // BLS lives in nitro-bls.wasm, fetched on first use
  const lines = [];
  for (const [name, chain] of Object.entries(chains)) {
    chain.rounds.forEach((r, i) => {
      const t0 = performance.now();
      const v = Beacon.verify({
        scheme: chain.scheme, publicKey: chain.public_key, round: r.round, signature: r.signature,
        previousSignature: r.previous_signature ?? chain.rounds[i - 1]?.signature,
      });
      lines.push(`${name} round ${r.round}: ${v.valid ? 'valid' : 'INVALID'} in ${(performance.now() - t0).toFixed(1)} ms, randomness ${v.randomness.slice(0, 16)}…`);
    });
    for (const bad of chain.invalid ?? []) {
      const v = Beacon.verify({ scheme: chain.scheme, publicKey: chain.public_key, round: bad.round, signature: bad.signature });
      lines.push(`${name} forged round ${bad.round} (${bad.why}): ${v.valid ? 'ACCEPTED' : 'rejected'}`);
    }
  }
  show(out, lines.join('\n'));
}

// ---- chat -----------------------------------------------------------------------------------------
function chatLine(html, sys = false) {
  const log = $('chat-log');
  const line = document.createElement('div');
  line.className = sys ? 'msg sys' : 'msg';
  line.innerHTML = html;
  log.append(line);
  while (log.children.length > kChatMax) log.firstChild.remove();
  log.scrollTop = log.scrollHeight;
}

function startChat(node, me, pulse) {
  node.subscribe('demo.chat', (msg, meta) => {
    pulse(meta.via);
    if (msg?.kind === 'raffle') return chatLine(`raffle: ${escapeHtml(msg.name)} drew round ${msg.round}: <b>${escapeHtml(msg.winner)}</b> wins among ${msg.of}`, true);
    const who = `<b style="color:${escapeHtml(msg?.color ?? '#475569')}">${escapeHtml(msg?.name ?? short(meta.from))}</b>`;
    const via = meta.hops > 0 ? `<small>${meta.hops} hop${meta.hops > 1 ? 's' : ''}</small>` : '';
    chatLine(`${who} ${escapeHtml(String(msg?.text ?? '').slice(0, 200))}${via}`);
  });
  $('chat-form').onsubmit = async (e) => {
    e.preventDefault();
    const text = $('chat-input').value.trim();
    if (!text) return;
    $('chat-input').value = '';
    await node.publish('demo.chat', { kind: 'say', name: me().name, color: me().color, text }).catch((err) => chatLine(`could not send: ${escapeHtml(err.message)}`, true));
  };
}

// ---- people -------------------------------------------------------------------------------------
function renderPeople(presence, node) {
  const people = [{ id: node.id, state: presence.me, self: true }, ...presence.others()];
  $('people-count').textContent = String(people.length);
  $('people').innerHTML = people.map((p) => `<li title="${p.id}"><span class="dot" style="background:${escapeHtml(p.state.color)}">${escapeHtml((p.state.name ?? '?')[0])}</span>${escapeHtml(p.state.name ?? '?')}${p.self ? ' (you)' : ''}</li>`).join('');
}

// ---- chain --------------------------------------------------------------------------------------
function startChain(node, pulse) {
  const commits = [];
  node.subscribe('demo.chain', (c, meta) => {
    pulse(meta.via);
    $('chain-height').textContent = String(c.height);
    $('chain-view').textContent = String(c.view);
    $('chain-lock').textContent = c.lock ? `${c.lock.holder} · #${c.lock.token}` : 'nobody';
    $('chain-validators').textContent = (c.validators ?? []).join(', ');
    $('chain-panel').dataset.height = String(c.height);
    commits.unshift(c);
    commits.length = Math.min(commits.length, kCommitsShown);
    const list = $('chain-commits');
    list.start = commits[0].height;
    list.innerHTML = commits.map((x) => `<li class="${x.txs ? 'txs' : ''}">${x.txs} tx${x.txs === 1 ? '' : 's'} · block ${x.hash}… · view ${x.view}</li>`).join('');
  });
}

// ---- beacon and raffle --------------------------------------------------------------------------
function startBeacon(node, presence, me) {
  let latest;
  const box = $('beacon-round');
  async function poll() {
    try {
      const b = await node.call('demo', 'Demo.Beacon', {}, { timeoutMs: 2500 });
      if (!b.ready || b.round === latest?.round) return;
      await loadBls();
      const t0 = performance.now();
      const v = Beacon.verify({ scheme: b.scheme, publicKey: b.groupPublicKey, round: b.round, signature: b.signature, previousSignature: b.previousSignature });
      const ms = performance.now() - t0;
      if (!v.valid) {
        box.innerHTML = `<span class="err">round ${b.round} from ${escapeHtml(b.from)} did NOT verify</span>`;
        box.dataset.valid = 'false';
        return;
      }
      latest = { ...b, randomness: v.randomness };
      window.nitroBeacon = latest;
      box.dataset.valid = 'true';
      box.dataset.round = String(b.round);
      box.innerHTML = `<span class="valid">✓ round ${b.round} verified here</span> in ${ms.toFixed(1)} ms against the group key <code>${b.groupPublicKey.slice(0, 16)}…</code>, served by ${escapeHtml(b.from)}<br>randomness <code>${v.randomness.slice(0, 32)}…</code>`;
      $('raffle-draw').disabled = false;
    } catch { /* no round yet, or a node restarting: the next poll tries again */ }
  }
  setInterval(poll, kBeaconPollMs);
  poll();
  // Everyone present, in peer-id order; the winner is the round's raffle token modulo their number,
  // so every page that sees the same people and round draws the same winner.
  $('raffle-draw').onclick = () => {
    if (!latest) return;
    const people = [{ id: node.id, name: me().name }, ...presence.others().map((o) => ({ id: o.id, name: o.state.name }))]
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const token = Beacon.token(latest.randomness, latest.round, 'raffle');
    const winner = people[Number(BigInt(`0x${token}`) % BigInt(people.length))];
    window.nitroRaffle = { beacon: latest, people, winner: winner.name };
    $('raffle-result').innerHTML = `round ${latest.round}: <b>${escapeHtml(winner.name)}</b> wins among ${people.length}`;
    node.publish('demo.chat', { kind: 'raffle', name: me().name, round: latest.round, winner: winner.name, of: people.length }).catch(() => {});
  };
}

// ---- RPC playground -----------------------------------------------------------------------------
const kFallbackMethods = [{ method: 'Demo.Hello', kind: 'unary', about: 'a greeting', example: { name: 'you' } }];

async function startRpc(node) {
  const out = $('rpc-output');
  const select = $('rpc-method');
  const methods = await node.call('demo', 'Demo.Methods', {}, { timeoutMs: 5000 }).then((r) => r.methods).catch(() => kFallbackMethods);
  select.innerHTML = methods.map((m, i) => `<option value="${i}">${escapeHtml(m.method)}${m.kind === 'stream' ? ' (stream)' : ''} — ${escapeHtml(m.about)}</option>`).join('');
  const choose = () => { $('rpc-request').value = JSON.stringify(methods[Number(select.value)].example); };
  select.onchange = choose;
  choose();
  $('rpc-call').disabled = false;
  show(out, 'ready: pick a method and call it', true);
  $('rpc-call').onclick = async () => {
    const m = methods[Number(select.value)];
    let request;
    try { request = JSON.parse($('rpc-request').value || '{}'); } catch (e) { return show(out, `the request is not JSON: ${e.message}`, false); }
    const t0 = performance.now();
    try {
      if (m.kind === 'stream') {
        const items = [];
        for await (const item of node.stream('demo', m.method, request, { timeoutMs: 8000 })) {
          items.push(item);
          show(out, `${m.method} streaming…\n${items.map((x) => JSON.stringify(x)).join('\n')}`);
        }
        show(out, `${m.method}: ${items.length} messages in ${(performance.now() - t0).toFixed(0)} ms\n${items.map((x) => JSON.stringify(x)).join('\n')}`);
      } else {
        const rsp = await node.call('demo', m.method, request, { timeoutMs: 10000 });
        show(out, `${m.method} answered by ${rsp?.from ?? '?'} in ${(performance.now() - t0).toFixed(1)} ms\n${JSON.stringify(rsp, null, 2)}`);
      }
      out.dataset.calls = String(Number(out.dataset.calls ?? 0) + 1);
    } catch (err) {
      show(out, `${err.name} (${err.code ?? 'error'}): ${err.message}`, false);
    }
  };
}

// ---- joining the network ------------------------------------------------------------------------
// The header's link count and the people list; the name field renames this page for everyone.
function startPeople(node, presence, net, identity) {
  const refresh = () => {
    const links = node.peers();
    const rtc = links.filter((p) => p.address.startsWith('rtc')).length;
    show($('net-status'), `online · ${links.length - rtc} ws + ${rtc} rtc links`, links.length > 0);
    presence.set({ links: net.links() });
  };
  for (const ev of ['neighbor:up', 'neighbor:down', 'peer:up', 'peer:down']) node.on(ev, refresh);
  refresh();
  $('my-name').oninput = (e) => {
    identity.name = e.target.value.trim().slice(0, 24) || identity.name;
    localStorage.setItem('nitro-demo-name', identity.name);
    presence.set({ name: identity.name });
    renderPeople(presence, node);
  };
  presence.onChange(() => renderPeople(presence, node));
  renderPeople(presence, node);
  node.subscribe('demo.presence', (_m, meta) => net.pulse(meta.via));
}

// The board once the tab's stored copy is loaded; a like is an RPC that commits on the chain.
async function startBoard(node, doc, slot, presence, net, identity) {
  await replicaOf(doc)?.ready.catch(() => {});
  const board = mountBoard({
    doc, board: $('board'), cursorsEl: $('cursors'), presence,
    onLike: async (id, span) => {
      const r = await node.call('demo', 'Demo.Like', { card: id }, { timeoutMs: 12000 }).catch(() => undefined);
      if (r) span.textContent = String(r.likes);
    },
  });
  node.subscribe('demo.likes', (m, meta) => {
    net.pulse(meta.via);
    const span = [...document.querySelectorAll('.card')].find((c) => c.dataset.id === m?.card)?.querySelector('.likes');
    if (span) span.textContent = String(m.likes);
  });
  $('add-card').disabled = false;
  $('add-card').onclick = () => board.add(identity.name);
  const info = () => { $('board-info').textContent = `this tab keeps the board in IndexedDB (nitro-demo-board-${slot}) · ${replicaOf(doc)?.stats.applied ?? 0} remote updates applied`; };
  doc.on('update', info);
  info();
}

async function joinNetwork(identity) {
  const status = await (await fetch('/api/status')).json();
  if (!status.nodes?.length) return show($('net-status'), 'no local network', false);
  const node = await createNode({ name: `page-${Math.random().toString(36).slice(2, 8)}`, transport: [websocket({ url: status.nodes[0].address }), webrtc()] });
  const slot = await claimSlot();
  const doc = node.doc('board', { store: indexedDbStore(`nitro-demo-board-${slot}`) });
  Object.assign(window, { nitroNode: node, nitroDoc: doc });
  const me = () => identity;
  const presence = pubsubPresence(node, { name: identity.name, color: identity.color, cursor: null, card: null, links: [] });
  addEventListener('pagehide', () => presence.close());
  const net = networkView({ canvas: $('net-canvas'), info: $('net-info'), node, presence, myName: () => identity.name });
  startPeople(node, presence, net, identity);
  startChat(node, me, net.pulse);
  startChain(node, net.pulse);
  await startBoard(node, doc, slot, presence, net, identity);
  document.body.dataset.joined = 'true';
  startBeacon(node, presence, me);
  await startRpc(node);
}

// ---- start --------------------------------------------------------------------------------------
await init();
show($('status'), `wasm core ready · emscripten ${versions.emscripten} · libsodium ${versions.libsodium}`);
$('versions').textContent = `emscripten ${versions.emscripten}, libsodium ${versions.libsodium}`;
const identity = myIdentity();
$('my-name').value = identity.name;
$('beacon-verify').onclick = () => verifySamples().catch((e) => show($('beacon-output'), e.message, false));
await loadBls();  // the simulator ships in nitro-bls.wasm, beside BLS
window.nitroSim = simulationView({
  Simulation, canvas: $('sim-canvas'), info: $('sim-info'),
  buttons: { publish: $('sim-publish'), crash: $('sim-crash'), restart: $('sim-restart'), loss: $('sim-loss') },
});
document.body.dataset.ready = 'true';
joinNetwork(identity).catch((err) => show($('net-status'), `could not join: ${err.message}`, false));
