// The demo runs the browser entry of @gonitro/nitro, served from /nitro/ by scripts/serve.mjs.
import { init, codec, versions, Doc, Beacon, Identity } from '/nitro/browser.js';

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

document.body.dataset.ready = 'true';
