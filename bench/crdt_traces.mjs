// Code-editing traces for the CRDT benchmark, made here rather than copied: the same shape as
// ../shared/data/editing-traces ({ startContent, endContent, txns: [{ patches: [[pos, del, ins]] }] }).
//   - gitHistoryTrace(file): this repository's own history of a source file, replayed as a
//     programmer would make it: each commit's line diff applied top to bottom, removed lines
//     deleted as a selection, added lines typed one keystroke at a time.
//   - typingTrace(seed): a synthetic session of typing C++-like code: auto-indented lines,
//     typos fixed with backspace, lines moved (cut and pasted elsewhere), edits in earlier functions.
import { execFileSync } from 'node:child_process';
import { rng } from '../node-tests/support/rng.mjs';

const repo = new URL('..', import.meta.url).pathname;
const git = (...args) => execFileSync('git', ['-C', repo, ...args], { maxBuffer: 64 << 20 }).toString();

// Pinned, so the trace does not change as the repository moves on.
export const kHistoryCommit = 'a9d56ed';

// A minimal line diff (longest common subsequence after trimming the common ends):
// [['=', line] | ['-', line] | ['+', line]] in order.
function lineDiff(a, b) {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const x = a.slice(pre, a.length - suf), y = b.slice(pre, b.length - suf);
  const w = y.length + 1;
  const lcs = new Uint32Array((x.length + 1) * w);
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out = a.slice(0, pre).map((l) => ['=', l]);
  let i = 0, j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) { out.push(['=', x[i]]); i++; j++; }
    else if (j < y.length && (i === x.length || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) out.push(['+', y[j++]]);
    else out.push(['-', x[i++]]);
  }
  for (const l of a.slice(a.length - suf)) out.push(['=', l]);
  return out;
}

function splitLines(text) {
  const lines = text.split('\n');
  return lines.map((l, k) => (k < lines.length - 1 ? l + '\n' : l)).filter((l) => l.length > 0);
}

export function gitHistoryTrace(file, commit = kHistoryCommit) {
  const commits = git('log', '--reverse', '--format=%H', commit, '--', file).trim().split('\n').filter(Boolean);
  const txns = [];
  let text = '';
  for (const c of commits) {
    let next;
    try { next = git('show', `${c}:${file}`); } catch { next = ''; }
    let pos = 0;
    for (const [op, line] of lineDiff(splitLines(text), splitLines(next))) {
      if (op === '=') { pos += line.length; continue; }
      if (op === '-') { txns.push({ patches: [[pos, line.length, '']] }); continue; }
      for (const ch of line) { txns.push({ patches: [[pos++, 0, ch]] }); }
    }
    text = next;
  }
  return { startContent: '', endContent: text, txns, commits: commits.length };
}

const kWords = ['value', 'count', 'index', 'item', 'node', 'peer', 'state', 'bytes', 'size', 'next', 'out',
  'result', 'status', 'clock', 'round', 'share', 'key', 'limit', 'offset', 'entry'];
const kTypes = ['std::uint32_t', 'std::size_t', 'Bytes', 'Status', 'bool', 'auto', 'const Value&'];

export function typingTrace(seed = 7, functions = 120) {
  const next = rng(seed);
  const pick = (xs) => xs[Math.floor(next() * xs.length)];
  const txns = [];
  let doc = '';
  const apply = (pos, del, ins) => {
    txns.push({ patches: [[pos, del, ins]] });
    doc = doc.slice(0, pos) + ins + doc.slice(pos + del);
  };
  let cursor = 0;
  const type = (s) => {
    for (const ch of s) {
      if (ch !== '\n' && next() < 0.03) {  // a typo, noticed and erased
        apply(cursor, 0, pick(['x', 'e', ';', ' ']));
        apply(cursor, 1, '');
      }
      apply(cursor++, 0, ch);
    }
  };
  const newline = (depth) => { apply(cursor, 0, '\n' + '  '.repeat(depth)); cursor += 1 + 2 * depth; };
  const statement = () => {
    const r = next();
    const a = pick(kWords), b = pick(kWords);
    if (r < 0.35) return `${pick(kTypes)} ${a} = ${b}.${pick(kWords)}();`;
    if (r < 0.6) return `${a} += ${b}_[${pick(kWords)}];`;
    if (r < 0.8) return `if (!${a}.ok()) return ${a}.status();`;
    return `NITRO_TRY(check_${a}(${b}, ${pick(kWords)}));`;
  };
  for (let f = 0; f < functions; f++) {
    if (f > 2 && next() < 0.3) cursor = lineEndNear(doc, Math.floor(next() * doc.length));  // back to an earlier spot
    else cursor = doc.length;
    newline(0);
    type(`Status ${pick(kWords)}_${pick(kWords)}_${f}(${pick(kTypes)} ${pick(kWords)}) {`);
    const body = 2 + Math.floor(next() * 8);
    for (let s = 0; s < body; s++) {
      newline(1);
      if (next() < 0.25) {
        type(`for (std::size_t i = 0; i < ${pick(kWords)}.size(); ++i) {`);
        for (let k = 0; k < 1 + Math.floor(next() * 3); k++) { newline(2); type(statement()); }
        newline(1);
        type('}');
      } else {
        type(statement());
      }
    }
    newline(0);
    type('}\n');
    if (next() < 0.2) moveLine(doc, next, apply);
  }
  return { startContent: '', endContent: doc, txns };
}

function lineEndNear(doc, pos) {
  const nl = doc.indexOf('\n', pos);
  return nl < 0 ? doc.length : nl;
}

// Cut one line and paste it after another line, as an editor's "move line" does.
function moveLine(doc, next, apply) {
  const starts = [0];
  for (let i = 0; i < doc.length; i++) if (doc[i] === '\n') starts.push(i + 1);
  if (starts.length < 4) return;
  const k = Math.floor(next() * (starts.length - 2));
  const from = starts[k], to = starts[k + 1];
  const line = doc.slice(from, to);
  apply(from, line.length, '');
  const rest = doc.length - line.length;
  const at = Math.min(rest, starts[Math.floor(next() * (starts.length - 2))]);
  apply(at > from ? Math.max(from, at - line.length) : at, 0, line);
}

// The code traces the benchmark runs; each is checked by replay (endContent must match).
export function codeTraces() {
  const files = ['core/src/consensus/engine.cpp', 'core/src/crdt/integrate.cpp', 'js/src/doc.ts'];
  const traces = files.map((f) => ({ name: `git history of ${f}`, trace: gitHistoryTrace(f) }));
  traces.push({ name: 'synthetic C++ typing (seed 7)', trace: typingTrace(7) });
  return traces;
}
