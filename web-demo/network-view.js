// The live picture of the real network: the Node processes (from /api/status), this page and the
// other pages present (from presence, which carries each page's links), the links coloured by
// transport, and a dot travelling along the link each message arrives over.
const kColors = { ws: '#60a5fa', rtc: '#f472b6', mem: '#a3a3a3' };
const kPulseMs = 600;
const kPulsesMax = 200;

const transportOf = (address) => (address.startsWith('rtc') ? 'rtc' : address.startsWith('ws') ? 'ws' : 'mem');

export function networkView({ canvas, info, node, presence, myName }) {
  const ctx = canvas.getContext('2d');
  let servers = [];
  const pulses = [];
  const frames = { last: node.stats().framesIn, rate: 0, at: performance.now() };

  async function refreshServers() {
    const status = await (await fetch('/api/status')).json().catch(() => ({ nodes: [] }));
    servers = status.nodes ?? [];
  }

  // Vertices: servers on an inner ring, pages on an outer one; edges: [a, b, transport].
  function graph() {
    const me = { id: node.id, name: `${myName()} (you)`, kind: 'page', color: presence.me.color };
    const pages = [me, ...presence.others().map((o) => ({ id: o.id, name: o.state.name, kind: 'page', color: o.state.color }))];
    const vertices = new Map();
    const w = canvas.width;
    const h = canvas.height;
    servers.forEach((s, i) => {
      const a = (2 * Math.PI * i) / Math.max(1, servers.length) - Math.PI / 2;
      vertices.set(s.id, { id: s.id, name: s.name, kind: 'server', x: w / 2 + 70 * Math.cos(a), y: h / 2 + 60 * Math.sin(a) });
    });
    pages.forEach((p, i) => {
      const a = (2 * Math.PI * i) / pages.length + Math.PI / 2;
      vertices.set(p.id, { ...p, x: w / 2 + (w / 2 - 60) * Math.cos(a), y: h / 2 + (h / 2 - 40) * Math.sin(a) });
    });
    const edges = new Map();
    const link = (a, b, transport) => {
      if (!vertices.has(a) || !vertices.has(b) || a === b) return;
      edges.set(a < b ? `${a} ${b}` : `${b} ${a}`, [a, b, transport]);
    };
    for (const s of servers) for (const p of s.peers ?? []) link(s.id, p.id, transportOf(p.address));
    for (const p of node.peers()) link(node.id, p.id, transportOf(p.address));
    for (const o of presence.others()) for (const l of o.state.links ?? []) link(o.id, l.id, l.t);
    return { vertices, edges: [...edges.values()] };
  }

  function draw() {
    const { vertices, edges } = graph();
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.lineWidth = 2;
    for (const [a, b, t] of edges) {
      ctx.strokeStyle = kColors[t];
      ctx.globalAlpha = 0.7;
      ctx.beginPath(); ctx.moveTo(vertices.get(a).x, vertices.get(a).y); ctx.lineTo(vertices.get(b).x, vertices.get(b).y); ctx.stroke();
    }
    ctx.globalAlpha = 1;
    const now = performance.now();
    while (pulses.length && now - pulses[0].at > kPulseMs) pulses.shift();
    ctx.fillStyle = '#facc15';
    for (const p of pulses) {
      const from = vertices.get(p.from);
      const to = vertices.get(node.id);
      if (!from || !to) continue;
      const f = (now - p.at) / kPulseMs;
      ctx.beginPath(); ctx.arc(from.x + (to.x - from.x) * f, from.y + (to.y - from.y) * f, 4, 0, 2 * Math.PI); ctx.fill();
    }
    ctx.font = '12px system-ui, sans-serif';
    ctx.textAlign = 'center';
    for (const v of vertices.values()) {
      ctx.fillStyle = v.kind === 'server' ? '#e5e7eb' : v.color ?? '#a78bfa';
      ctx.beginPath();
      if (v.kind === 'server') ctx.rect(v.x - 8, v.y - 8, 16, 16); else ctx.arc(v.x, v.y, 9, 0, 2 * Math.PI);
      ctx.fill();
      if (v.id === node.id) { ctx.strokeStyle = '#fff'; ctx.lineWidth = 2; ctx.stroke(); }
      ctx.fillStyle = '#cbd5e1';
      ctx.fillText(v.name ?? v.id.slice(0, 6), v.x, v.y + (v.y < canvas.height / 2 ? -14 : 24));
    }
    if (now - frames.at > 1000) {
      const total = node.stats().framesIn;
      frames.rate = Math.round(((total - frames.last) * 1000) / (now - frames.at));
      frames.last = total;
      frames.at = now;
      const byTransport = (t) => edges.filter((e) => e[2] === t).length;
      info.textContent = `${vertices.size} nodes · ${byTransport('ws')} WebSocket, ${byTransport('rtc')} WebRTC links · ${frames.rate} frames/s in here`;
    }
  }

  refreshServers();
  setInterval(refreshServers, 3000);
  let visible = false;
  new IntersectionObserver((entries) => { visible = entries.some((e) => e.isIntersecting); }).observe(canvas);
  let drawn = 0;
  const loop = () => { if (visible || drawn++ < 30) draw(); requestAnimationFrame(loop); };
  requestAnimationFrame(loop);

  return {
    /** A message arrived over the link from `via`. */
    pulse(via) {
      if (pulses.length < kPulsesMax) pulses.push({ from: via, at: performance.now() });
    },
    /** This page's links, for presence (so the other pages can draw them). */
    links: () => node.peers().map((p) => ({ id: p.id, t: transportOf(p.address) })),
  };
}
