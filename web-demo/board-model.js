// The board's document layout, shared by the page and the `npm start` nodes (plain functions over
// a Nitro Doc, no imports). A card is an entry of the map `cards` (id -> { color, by, kind, at })
// plus two texts, `title/<id>` and `body/<id>`, so concurrent typing in one card merges by
// character instead of one writer's version replacing the other's.
export const kColors = ['#fde68a', '#bbf7d0', '#bfdbfe', '#fbcfe8', '#ddd6fe', '#fed7aa'];
export const kTitleChars = 80;
export const kBodyChars = 2000;

export const cardsOf = (doc) => doc.getMap('cards');
export const titleOf = (doc, id) => doc.getText(`title/${id}`);
export const bodyOf = (doc, id) => doc.getText(`body/${id}`);

/** Replaces the text's content by `value` with one delete and one insert around the common ends. */
export function setText(text, value) {
  const before = text.toString();
  if (before === value) return;
  let start = 0;
  while (start < before.length && start < value.length && before[start] === value[start]) start++;
  let endBefore = before.length;
  let endAfter = value.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === value[endAfter - 1]) { endBefore--; endAfter--; }
  if (endBefore > start) text.delete(start, endBefore - start);
  if (endAfter > start) text.insert(start, value.slice(start, endAfter));
}

export function addCard(doc, { id, title, body = '', color, by, kind = 'person', at }) {
  doc.transact(() => {
    cardsOf(doc).set(id, { color, by, kind, at });
    titleOf(doc, id).insert(0, title.slice(0, kTitleChars));
    if (body) bodyOf(doc, id).insert(0, body.slice(0, kBodyChars));
  }, 'local');
}

export function removeCard(doc, id) {
  doc.transact(() => {
    cardsOf(doc).delete(id);
    for (const text of [titleOf(doc, id), bodyOf(doc, id)]) if (text.length > 0) text.delete(0, text.length);
  }, 'local');
}

/** The cards in creation order: [{ id, color, by, kind, at, title, body }]. */
export function listCards(doc) {
  const map = cardsOf(doc);
  return map.keys()
    .map((id) => ({ id, ...(map.get(id) ?? {}), title: titleOf(doc, id).toString(), body: bodyOf(doc, id).toString() }))
    .sort((a, b) => (a.at ?? 0) - (b.at ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
