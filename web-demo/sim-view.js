// The simulator's larger picture: 64 real Nitro nodes (secure links, HyParView membership, Plumtree
// gossip) in the deterministic simulator, in wasm, 50 ms of virtual time per frame. Publish from
// node 0 and watch the message spread; crash nodes or add loss and it still arrives.
const kNodes = 64;
const kSettleMs = 15000;
const kStepMs = 50;

// The simulator starts when its canvas first scrolls into view (or a button is used) and runs only
// while visible: it is the heaviest thing on the page.
export function simulationView({ Simulation, canvas, info, buttons }) {
  let sim;
  let visible = false;
  const ensure = () => (sim ??= start({ Simulation, canvas, info, buttons, isVisible: () => visible }));
  new IntersectionObserver((entries) => {
    visible = entries.some((e) => e.isIntersecting);
    if (visible) ensure();
  }).observe(canvas);
  for (const el of Object.values(buttons)) el.addEventListener('click', ensure, { capture: true });
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#94a3b8';
  ctx.font = '15px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.fillText('the simulator starts when you scroll here', canvas.width / 2, canvas.height / 2);
  return { ensure };
}

function start({ Simulation, canvas, info, buttons, isVisible }) {
  const n = kNodes;
  const sim = new Simulation({ seed: 7, nodes: n });
  for (let i = 0; i < n; i++) sim.subscribe(i, 'demo');
  sim.runFor(kSettleMs);  // let membership settle
  const ctx = canvas.getContext('2d');
  const pos = Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    return [canvas.width / 2 + (canvas.width / 2 - 24) * Math.cos(a), canvas.height / 2 + (canvas.height / 2 - 20) * Math.sin(a)];
  });
  let got = new Set();
  let published = 0;
  let lastHops = 0;
  const draw = () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = '#334155';
    ctx.lineWidth = 1;
    for (let i = 0; i < n; i++) {
      if (!sim.alive(i)) continue;
      for (const j of sim.neighbors(i)) if (j > i) { ctx.beginPath(); ctx.moveTo(...pos[i]); ctx.lineTo(...pos[j]); ctx.stroke(); }
    }
    for (let i = 0; i < n; i++) {
      ctx.fillStyle = !sim.alive(i) ? '#7f1d1d' : got.has(i) ? '#4ade80' : '#93c5fd';
      ctx.beginPath(); ctx.arc(...pos[i], 5, 0, 2 * Math.PI); ctx.fill();
    }
    const alive = Array.from({ length: n }, (_, i) => sim.alive(i)).filter(Boolean).length;
    const st = sim.stats();
    info.textContent = `virtual time ${(sim.nowMs / 1000).toFixed(1)} s · ${alive}/${n} alive · last message: ${got.size}/${alive} delivered, max ${lastHops} hops · duplicates ${st.duplicatePayloads ?? 0}`;
    info.dataset.delivered = String(got.size);
  };
  const step = () => {
    if (!isVisible()) return void requestAnimationFrame(step);
    sim.runFor(kStepMs);
    for (const d of sim.takeDeliveries()) if (d.seq === published && d.topic === 'demo') { got.add(d.node); lastHops = Math.max(lastHops, d.hops); }
    draw();
    requestAnimationFrame(step);
  };
  buttons.publish.onclick = () => {
    if (!sim.alive(0)) sim.restart(0);
    got = new Set([0]);
    lastHops = 0;
    published = sim.publish(0, 'demo', new TextEncoder().encode(`hello ${Date.now()}`));
  };
  buttons.crash.onclick = () => { for (let i = 1; i < n; i++) if (Math.random() < 0.2) sim.crash(i); };
  buttons.restart.onclick = () => { for (let i = 0; i < n; i++) if (!sim.alive(i)) sim.restart(i); };
  buttons.loss.onchange = (e) => sim.setDropRate(e.target.checked ? 0.1 : 0);
  draw();
  requestAnimationFrame(step);
  return sim;
}
