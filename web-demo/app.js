// The demo runs the browser entry of @gonitro/nitro, served from /nitro/ by scripts/serve.mjs.
import { init, loadBls, codec, versions, Doc, Beacon, Identity, createNode, websocket, Simulation } from '/nitro/browser.js';

const $ = (id) => document.getElementById(id);
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const show = (el, text, ok = true) => { el.textContent = text; el.className = ok ? 'ok' : 'err'; };

await init();
show($('status'), `wasm core ready — emscripten ${versions.emscripten}, libsodium ${versions.libsodium}`);

// --- codec ----------------------------------------------------------------------------------
$('codec-encode').onclick = () => {
  try {
    const bytes = codec.encode(JSON.parse($('codec-input').value));
    show($('codec-output'), `${bytes.length} bytes: ${hex(bytes)}\n→ ${JSON.stringify(codec.decode(bytes))}`);
  } catch (err) {
    show($('codec-output'), `${err.name} (${err.code ?? 'error'}): ${err.message}`, false);
  }
};

// --- CRDT: two replicas, synced by exchanging updates -------------------------------------------
const replicas = [new Doc(), new Doc()];
const areas = [$('crdt-a'), $('crdt-b')];
const outbox = [[], []];  // updates produced while offline, per replica

function applyLocalEdit(i) {
  const text = replicas[i].getText('notes');
  const before = text.toString();
  const after = areas[i].value;
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) { endBefore--; endAfter--; }
  replicas[i].transact(() => {
    if (endBefore > start) text.delete(start, endBefore - start);
    if (endAfter > start) text.insert(start, after.slice(start, endAfter));
  }, 'local');
}

function render() {
  replicas.forEach((doc, i) => {
    const value = doc.getText('notes').toString();
    if (areas[i].value !== value) areas[i].value = value;
  });
  const size = replicas[0].encodeState().length;
  $('crdt-info').textContent = `state: ${size} bytes encoded · replica A ${replicas[0].getText('notes').length} chars, replica B ${replicas[1].getText('notes').length} chars`;
}

function flush() {
  if (!$('crdt-online').checked) return;
  outbox.forEach((updates, from) => {
    for (const update of updates.splice(0)) replicas[1 - from].applyUpdate(update, 'remote');
  });
  render();
}

replicas.forEach((doc, i) => {
  doc.on('update', (update, origin) => { if (origin !== 'remote') outbox[i].push(update); });
  areas[i].addEventListener('input', () => { applyLocalEdit(i); flush(); render(); });
});
$('crdt-online').addEventListener('change', flush);
replicas[0].getText('notes').insert(0, 'Shared notes: type in either box.');
flush();

// --- drand beacons -----------------------------------------------------------------------------
$('beacon-verify').onclick = async () => {
  const res = await fetch('/api/drand');
  if (!res.ok) return show($('beacon-output'), 'no sample beacons on this server', false);
  const { chains } = await res.json();
  await loadBls();  // BLS lives in nitro-bls.wasm, fetched on first use
  const lines = [];
  for (const [name, chain] of Object.entries(chains)) {
    chain.rounds.forEach((r, i) => {
      const t0 = performance.now();
      const out = Beacon.verify({
        scheme: chain.scheme, publicKey: chain.public_key, round: r.round, signature: r.signature,
        previousSignature: r.previous_signature ?? chain.rounds[i - 1]?.signature,
      });
      lines.push(`${name} round ${r.round}: ${out.valid ? 'valid' : 'INVALID'} in ${(performance.now() - t0).toFixed(1)} ms, randomness ${out.randomness.slice(0, 16)}…`);
    });
  }
  show($('beacon-output'), lines.join('\n'));
};

// --- identity ----------------------------------------------------------------------------------
$('identity-new').onclick = () => {
  const id = Identity.generate();
  show($('identity-output'), `peer id: ${id.peerId}`);
};

// --- the local network: this page is a node too ---------------------------------------------------
const log = (line) => {
  const el = $('chat-log');
  el.textContent = `${line}\n${el.textContent}`.split('\n').slice(0, 60).join('\n');
};

async function joinNetwork() {
  const status = await (await fetch('/api/status')).json();
  if (!status.nodes?.length) return show($('net-status'), 'no local network on this server', false);
  const node = await createNode({ name: 'browser', transport: websocket({ url: status.nodes[0].address }) });
  window.nitroNode = node;
  const refresh = () => show($('net-status'), `connected as ${node.id.slice(0, 12)}… · ${node.neighbors().length} gossip neighbors · ${node.peers().length} links`);
  for (const ev of ['neighbor:up', 'neighbor:down', 'peer:up', 'peer:down']) node.on(ev, refresh);
  refresh();
  node.subscribe('demo.chat', (msg, meta) => log(`${meta.from.slice(0, 8)} ${msg.kind === 'ack' ? '↩' : '»'} ${msg.text}  (${meta.hops} hops)`));
  node.subscribe('demo.ticks', (msg, meta) => {
    $('net-status').dataset.ticks = String(msg.tick);
    log(`tick ${msg.tick} from ${msg.from} (${meta.from.slice(0, 8)}, ${meta.hops} hops)`);
  });
  $('chat-form').onsubmit = async (e) => {
    e.preventDefault();
    const text = $('chat-input').value.trim();
    if (!text) return;
    $('chat-input').value = '';
    await node.publish('demo.chat', { kind: 'say', text });
  };
  document.body.dataset.joined = 'true';
  enableRpc(node);
}

// --- RPC to the demo service, and the nodes' threshold beacon verified here -------------------------
function enableRpc(node) {
  const out = $('rpc-output');
  const fail = (err) => show(out, `${err.name} (${err.code ?? 'error'}): ${err.message}`, false);
  for (const id of ['rpc-hello', 'rpc-count', 'rpc-beacon']) $(id).disabled = false;
  show(out, 'ready: the calls go over this page\'s secure links to the npm start nodes');
  let calls = 0;
  $('rpc-hello').onclick = async () => {
    try {
      const t0 = performance.now();
      const rsp = await node.call('demo', 'Demo.Hello', { name: `browser #${++calls}` }, { timeoutMs: 3000 });
      show(out, `${rsp.greeting} — answered by ${rsp.from} in ${(performance.now() - t0).toFixed(1)} ms`);
    } catch (err) { fail(err); }
  };
  $('rpc-count').onclick = async () => {
    try {
      const lines = [];
      for await (const m of node.stream('demo', 'Demo.Count', { to: 5 }, { timeoutMs: 5000 })) {
        lines.push(`${m.n} from ${m.from}`);
        show(out, `server stream: ${lines.join(' · ')}`);
      }
    } catch (err) { fail(err); }
  };
  $('rpc-beacon').onclick = async () => {
    try {
      const b = await node.call('demo', 'Demo.Beacon', {}, { timeoutMs: 3000 });
      if (!b.ready) return show(out, `${b.from}: no round yet (the DKG and genesis take a few seconds)`, false);
      await loadBls();
      const res = Beacon.verify({ scheme: b.scheme, publicKey: b.groupPublicKey, round: b.round, signature: b.signature, previousSignature: b.previousSignature });
      out.dataset.beaconValid = String(res.valid);
      show(out, [
        `round ${b.round} from ${b.from}: ${res.valid ? 'valid' : 'INVALID'} against the group key ${b.groupPublicKey.slice(0, 24)}…`,
        `randomness ${res.randomness}`,
        `token('raffle') ${Beacon.token(res.randomness, b.round, 'raffle').slice(0, 32)}…`,
      ].join('\n'), res.valid);
    } catch (err) { fail(err); }
  };
}

// --- the simulated network ------------------------------------------------------------------------
function startSimulation() {
  const n = 64;
  const sim = new Simulation({ seed: 7, nodes: n });
  for (let i = 0; i < n; i++) sim.subscribe(i, 'demo');
  sim.runFor(15000);  // let membership settle
  const canvas = $('sim-canvas');
  const ctx = canvas.getContext('2d');
  const pos = Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    return [canvas.width / 2 + 160 * Math.cos(a) * 1.5, canvas.height / 2 + 160 * Math.sin(a)];
  });
  let got = new Set();
  let published = 0;
  let lastHops = 0;
  const draw = () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = '#2a3b5c';
    for (let i = 0; i < n; i++) {
      if (!sim.alive(i)) continue;
      for (const j of sim.neighbors(i)) if (j > i) { ctx.beginPath(); ctx.moveTo(...pos[i]); ctx.lineTo(...pos[j]); ctx.stroke(); }
    }
    for (let i = 0; i < n; i++) {
      ctx.fillStyle = !sim.alive(i) ? '#5f2120' : got.has(i) ? '#3ddc84' : '#8ab4f8';
      ctx.beginPath(); ctx.arc(...pos[i], 5, 0, 2 * Math.PI); ctx.fill();
    }
    const alive = Array.from({ length: n }, (_, i) => sim.alive(i)).filter(Boolean).length;
    const st = sim.stats();
    $('sim-info').textContent = `virtual time ${(sim.nowMs / 1000).toFixed(1)} s · ${alive}/${n} alive · last message: ${got.size}/${alive} delivered, max ${lastHops} hops · duplicates so far ${st.duplicatePayloads ?? 0}`;
    $('sim-info').dataset.delivered = String(got.size);
  };
  const step = () => {
    sim.runFor(50);  // 50 ms of virtual time per frame
    for (const d of sim.takeDeliveries()) if (d.seq === published && d.topic === 'demo') { got.add(d.node); lastHops = Math.max(lastHops, d.hops); }
    draw();
    requestAnimationFrame(step);
  };
  $('sim-publish').onclick = () => {
    if (!sim.alive(0)) sim.restart(0);
    got = new Set([0]);
    lastHops = 0;
    published = sim.publish(0, 'demo', new TextEncoder().encode(`hello ${Date.now()}`));
  };
  $('sim-crash').onclick = () => { for (let i = 1; i < n; i++) if (Math.random() < 0.2) sim.crash(i); };
  $('sim-restart').onclick = () => { for (let i = 0; i < n; i++) if (!sim.alive(i)) sim.restart(i); };
  $('sim-loss').onchange = (e) => sim.setDropRate(e.target.checked ? 0.1 : 0);
  window.nitroSim = sim;
  draw();
  requestAnimationFrame(step);
}

await loadBls();  // the simulator ships in nitro-bls.wasm, beside BLS
startSimulation();
document.body.dataset.ready = 'true';
joinNetwork().catch((err) => show($('net-status'), `could not join: ${err.message}`, false));
