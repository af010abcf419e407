// The board view: renders the cards of the shared document and turns typing into text edits;
// shows the other people's cursors and which card they are in (from the presence adapter).
import { addCard, removeCard, listCards, setText, titleOf, bodyOf, kColors, kTitleChars, kBodyChars } from './board-model.js';

const kCursorSvg = (color) => `<svg width="16" height="20" viewBox="0 0 16 20"><path d="M1 1l13 10-6 1-3 6z" fill="${color}" stroke="#fff" stroke-width="1.5"/></svg>`;

// Keeps the caret where the user had it when a remote edit changes the field's text.
function replaceKeepingCaret(field, value) {
  const before = field.value;
  if (before === value) return;
  if (document.activeElement !== field) {
    field.value = value;
    return;
  }
  let start = 0;
  while (start < before.length && start < value.length && before[start] === value[start]) start++;
  const shift = value.length - before.length;
  const move = (pos) => (pos <= start ? pos : Math.max(start, pos + shift));
  const [a, b] = [move(field.selectionStart), move(field.selectionEnd)];
  field.value = value;
  field.setSelectionRange(a, b);
}

function cardElement(doc, id, actions) {
  const el = document.createElement('article');
  el.className = 'card';
  el.dataset.id = id;
  el.innerHTML = `<input class="title" maxlength="${kTitleChars}" aria-label="title">
    <textarea class="body" maxlength="${kBodyChars}" aria-label="text" rows="3"></textarea>
    <div class="meta"><span class="by"></span><span><button class="like" title="like (a chain transaction)">♥ <span class="likes"></span></button><button class="remove" title="remove">✕</button></span></div>`;
  const title = el.querySelector('.title');
  const body = el.querySelector('.body');
  title.addEventListener('input', () => doc.transact(() => setText(titleOf(doc, id), title.value), 'local'));
  body.addEventListener('input', () => doc.transact(() => setText(bodyOf(doc, id), body.value), 'local'));
  for (const field of [title, body]) {
    field.addEventListener('focus', () => actions.focus(id));
    field.addEventListener('blur', () => actions.focus(null));
  }
  el.querySelector('.remove').onclick = () => removeCard(doc, id);
  el.querySelector('.like').onclick = () => actions.like(id, el.querySelector('.likes'));
  return el;
}

export function mountBoard({ doc, board, cursorsEl, presence, onLike }) {
  const elements = new Map();
  let focused = null;
  const actions = {
    focus: (id) => { focused = id; presence.set({ card: id }); },
    like: onLike,
  };

  function render() {
    const cards = listCards(doc);
    const seen = new Set();
    for (const c of cards) {
      seen.add(c.id);
      let el = elements.get(c.id);
      if (!el) {
        el = cardElement(doc, c.id, actions);
        elements.set(c.id, el);
      }
      if (board.children[cards.indexOf(c) + 1] !== el) board.insertBefore(el, board.children[cards.indexOf(c) + 1] ?? null);
      el.style.background = c.color ?? kColors[0];
      replaceKeepingCaret(el.querySelector('.title'), c.title);
      replaceKeepingCaret(el.querySelector('.body'), c.body);
      el.querySelector('.by').innerHTML = `${escapeHtml(c.by ?? '')}${c.kind === 'node' ? '<span class="badge">node</span>' : ''}`;
    }
    for (const [id, el] of elements) {
      if (seen.has(id)) continue;
      el.remove();
      elements.delete(id);
      if (focused === id) actions.focus(null);
    }
    board.dataset.cards = String(cards.length);
    renderPresence();
  }

  function renderPresence() {
    const others = presence.others();
    for (const el of elements.values()) {
      const editor = others.find((o) => o.state.card === el.dataset.id);
      el.classList.toggle('editing-remote', !!editor);
      el.style.setProperty('--remote', editor?.state.color ?? '');
      el.title = editor ? `${editor.state.name} is editing` : '';
    }
    const rect = board.getBoundingClientRect();
    cursorsEl.innerHTML = others.filter((o) => o.state.cursor).map(({ state }) => {
      const x = Math.min(1, Math.max(0, state.cursor.x)) * rect.width;
      const y = Math.min(1, Math.max(0, state.cursor.y)) * rect.height;
      return `<div class="cursor" style="left:${x}px;top:${y}px">${kCursorSvg(state.color)}<span style="background:${state.color}">${escapeHtml(state.name)}</span></div>`;
    }).join('');
  }

  board.addEventListener('pointermove', (e) => {
    const rect = board.getBoundingClientRect();
    presence.set({ cursor: { x: (e.clientX - rect.left) / rect.width, y: (e.clientY - rect.top) / rect.height } });
  });
  board.addEventListener('pointerleave', () => presence.set({ cursor: null }));
  doc.on('update', () => render());
  presence.onChange(renderPresence);
  render();

  return {
    add(by) {
      const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
      addCard(doc, { id, title: 'New card', body: '', color: kColors[Math.floor(Math.random() * kColors.length)], by, at: Date.now() });
      const el = elements.get(id);
      el?.querySelector('.title').select();
      el?.querySelector('.title').focus();
      return id;
    },
  };
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
