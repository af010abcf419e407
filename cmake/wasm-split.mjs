// Splits the linked core in two and shrinks the half every page loads (run by cmake/wasm.cmake
// after linking nitro.wasm with its function names kept):
//   nitro.wasm      everything a node needs; optimized for size (wasm-opt -Oz), names stripped
//   nitro-bls.wasm  the functions defined only by objects whose source path matches the BLS rule
//                   (NITRO_WASM_BLS_SOURCES in cmake/wasm.cmake); optimized for speed (-O3)
// A function also defined by an object outside the rule (inline or template code both halves use)
// stays in nitro.wasm, and so do static initializers, which run at start-up.
// Usage: node wasm-split.mjs <build dir> <source-path regex> <llvm-nm>
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ed25519BaseTable } from './ed25519-base.mjs';

const [buildDir, ruleText, nm = 'llvm-nm'] = process.argv.slice(2);
const rule = new RegExp(ruleText);
const features = ['--enable-exception-handling', '--enable-sign-ext', '--enable-mutable-globals',
  '--enable-bulk-memory', '--enable-nontrapping-float-to-int'];

function objects(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return objects(path);
    return e.name.endsWith('.o') ? [path] : [];
  });
}

function definedFunctions(object) {
  // Demangled, as wasm-ld writes the name section.
  const out = execFileSync(nm, ['--defined-only', '--demangle', object], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return out.split('\n').map((l) => /^\S*\s+([TtWw])\s+(.+)$/.exec(l.trim())).filter(Boolean).map((m) => m[2]);
}

function referencedFunctions(object) {
  const out = execFileSync(nm, ['--undefined-only', '--demangle', object], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return out.split('\n').map((l) => /^\s*U\s+(.+)$/.exec(l)).filter(Boolean).map((m) => m[1]);
}

// Object paths mirror source paths (CMakeFiles/<target>.dir/<source>.o): the rule matches either.
const inRule = new Set();
const outsideRule = new Set();
const referencedOutside = new Set();  // what objects outside the rule call or take the address of
for (const object of objects(join(buildDir, 'CMakeFiles'))) {
  const source = relative(join(buildDir, 'CMakeFiles'), object).replace(/^[^/]+\.dir\//, '/');
  const inside = rule.test(source);
  for (const name of definedFunctions(object)) (inside ? inRule : outsideRule).add(name);
  if (!inside) for (const name of referencedFunctions(object)) referencedOutside.add(name);
}

const wasm = join(buildDir, 'nitro.wasm');
const map = execFileSync('wasm-opt', [wasm, ...features, '--print-function-map', '-o', '/dev/null'], { encoding: 'utf8', maxBuffer: 1 << 26 });
const names = map.split('\n').map((l) => l.slice(l.indexOf(':') + 1)).filter(Boolean);
const startup = /^(_GLOBAL__sub_I_|__cxx_global_var_init|_GLOBAL__I_)/;
// binaryen escapes characters outside its name alphabet as \hh ("\28" for '(').
const plain = (n) => n.replace(/\\([0-9a-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
const candidates = new Set(names.filter((n) => inRule.has(plain(n)) && !outsideRule.has(plain(n)) && !startup.test(plain(n))));

// The link merges identical functions (e.g. two deque<T> instantiations), so a function named after
// BLS code may serve other code too. Whatever code outside the candidates calls directly stays in
// nitro.wasm, with everything it calls in turn.
function callGraph() {
  const text = execFileSync('wasm-opt', [wasm, ...features, '--print', '-o', '/dev/null'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const calls = new Map();
  const lines = new Map();
  const table = new Set();
  const exported = new Set();
  let current;
  for (const line of text.split('\n')) {
    if (line.startsWith(' (elem')) for (const m of line.matchAll(/\$(\S+)/g)) table.add(m[1].replace(/\)+$/, ''));
    if (line.startsWith(' (export')) for (const m of line.matchAll(/\(func \$(\S+?)\)/g)) exported.add(m[1]);
    const func = /^ \(func \$(\S+)/.exec(line);
    if (func) { current = func[1]; calls.set(current, new Set()); lines.set(current, 0); continue; }
    if (current) lines.set(current, lines.get(current) + 1);
    for (const m of line.matchAll(/\((?:return_)?call \$(\S+)/g)) calls.get(current)?.add(m[1].replace(/\)+$/, ''));
  }
  return { calls, lines, table, exported };
}
const { calls, lines, table, exported } = callGraph();
// Indirect calls cannot be traced: a function in the table may be the merged stand-in for other
// code's, so those stay too when they are tiny (an empty virtual, a getter: large bodies are not
// merged by chance) or small library templates (std::), whose code hardly depends on the type they
// are named after: a variant's destructor dispatch freeing a vector is the same code for every
// element type (one named after an auth type served DocSync too, and nitro.wasm then called a
// placeholder before nitro-bls.wasm was loaded). Large ones inline our code (a std::visit of a
// consensus message, a shared_ptr's control block destroying a Block) and move. Except a wrapper
// that calls code of ours no object outside the rule names (an embind entry such as
// `sim_run_for`): code outside could not have had the same body.
const libraryTemplate = (f) => lines.get(f) < 64 && /^(?:[\w()]+ )?std::/.test(plain(f));
const privateCode = (c) => candidates.has(c) && !referencedOutside.has(plain(c)) && !libraryTemplate(c);
const wrapsPrivateCode = (f) => [...(calls.get(f) ?? [])].some((c) => c !== f && privateCode(c));
for (const f of [...candidates]) {
  if (table.has(f) && (lines.get(f) < 16 || libraryTemplate(f)) && !wrapsPrivateCode(f)) candidates.delete(f);
}
// Library code (libc, libc++, libsodium: defined by no object here) moves too when only moved code
// reaches it: argon2 behind the sealed identity export, say. Everything else is a root: what stays
// keeps what it calls, exports (which name their functions) and the table keep theirs.
const owned = (f) => inRule.has(plain(f)) || outsideRule.has(plain(f));
for (const f of calls.keys()) if (!owned(f) && !table.has(f) && !exported.has(f) && !startup.test(plain(f))) candidates.add(f);
const pending = [...calls.keys()].filter((f) => !candidates.has(f));
const kept = new Set(pending);
while (pending.length) {
  for (const callee of calls.get(pending.pop()) ?? []) {
    if (kept.has(callee)) continue;
    kept.add(callee);
    candidates.delete(callee);
    pending.push(callee);
  }
}
const split = [...candidates];
if (split.length === 0) throw new Error('wasm-split: no function matched the BLS rule; are function names kept?');

const list = join(buildDir, 'nitro-bls.funcs');
copyFileSync(wasm, join(buildDir, 'nitro-named.wasm'));  // for size analysis (twiggy, wasm-opt --func-metrics)
writeFileSync(list, split.join('\n') + '\n');
const tmp = (name) => join(buildDir, `${name}.tmp`);
execFileSync('wasm-split', [wasm, ...features, `--split-funcs=@${list}`,
  '-o1', tmp('primary.wasm'), '-o2', tmp('bls.wasm')], { stdio: 'inherit' });
execFileSync('wasm-opt', [tmp('primary.wasm'), ...features, '-Oz', '--strip-debug', '--strip-producers', '-o', tmp('nitro.wasm')], { stdio: 'inherit' });
execFileSync('wasm-opt', [tmp('bls.wasm'), ...features, '-O3', '--strip-debug', '--strip-producers', '-o', join(buildDir, 'nitro-bls.wasm')], { stdio: 'inherit' });
renameSync(tmp('nitro.wasm'), wasm);
for (const t of ['primary.wasm', 'bls.wasm']) rmSync(tmp(t), { force: true });
console.log(`wasm-split: ${split.length} of ${names.length} functions moved to nitro-bls.wasm`);
computeTables(wasm, join(buildDir, 'nitro-tables.mjs'));

// Tables the loader computes (cmake/ed25519-base.mjs) leave nitro.wasm as zeros, which gzip takes
// to nothing; nitro-tables.mjs writes them back at their addresses. A table not found byte for
// byte (another libsodium build) simply stays in the data.
function computeTables(file, out) {
  const bytes = readFileSync(file);
  const table = ed25519BaseTable();
  const fills = [];
  for (const seg of activeDataSegments(bytes)) {
    const at = bytes.subarray(seg.start, seg.end).indexOf(table);
    if (at < 0) continue;
    bytes.fill(0, seg.start + at, seg.start + at + table.length);
    fills.push(seg.address + at);
    break;
  }
  if (fills.length === 0) console.warn('wasm-split: the Ed25519 base table was not found; it stays in nitro.wasm');
  writeFileSync(file, bytes);
  const generator = readFileSync(new URL('./ed25519-base.mjs', import.meta.url), 'utf8');
  writeFileSync(out, `${generator}
/** Writes the tables computed here into nitro.wasm's memory (before the core runs). */
export function fillTables(memory) {
  for (const address of ${JSON.stringify(fills)}) new Uint8Array(memory.buffer, address, 30720).set(ed25519BaseTable());
}
`);
}

// The data section's active segments (memory 0, i32.const offset): where their bytes are in the file.
function activeDataSegments(buf) {
  let p = 8;
  const leb = () => { let r = 0, shift = 0, b; do { b = buf[p++]; r += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80); return r; };
  const sleb = () => { let r = 0n, shift = 0n, b; do { b = buf[p++]; r |= BigInt(b & 0x7f) << shift; shift += 7n; } while (b & 0x80); if (b & 0x40) r -= 1n << shift; return Number(r); };
  while (p < buf.length) {
    const id = buf[p++];
    const size = leb();
    if (id !== 11) { p += size; continue; }
    const segments = [];
    for (let n = leb(); n > 0; n--) {
      const flags = leb();
      if (flags !== 0 || buf[p] !== 0x41) return [];  // passive or unusual: leave the data alone
      p++;
      const address = sleb();
      if (buf[p++] !== 0x0b) return [];
      const length = leb();
      segments.push({ address, start: p, end: p + length });
      p += length;
    }
    return segments;
  }
  return [];
}
