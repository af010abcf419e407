// The demo runs the browser entry of @gonitro/nitro, served from /nitro/ by scripts/serve.mjs.
import { init, codec, versions } from '/nitro/browser.js';

const $ = (id) => document.getElementById(id);
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

await init();
$('status').textContent = `wasm core ready — emscripten ${versions.emscripten}, libsodium ${versions.libsodium}`;
$('status').className = 'ok';
document.body.dataset.ready = 'true';

$('codec-encode').onclick = () => {
  try {
    const bytes = codec.encode(JSON.parse($('codec-input').value));
    $('codec-output').textContent = `${bytes.length} bytes: ${hex(bytes)}\n→ ${JSON.stringify(codec.decode(bytes))}`;
    $('codec-output').className = 'ok';
  } catch (err) {
    $('codec-output').textContent = `${err.name} (${err.code ?? 'error'}): ${err.message}`;
    $('codec-output').className = 'err';
  }
};
