// Building the page: every value goes in as text (textContent or a text
// node), never as HTML, so that a hostile payload stays text. The CSP's
// Trusted Types rule would refuse any HTML string anyway.

// el makes an element with attributes (on<event> functions become
// listeners) and children (nodes, or values shown as text).
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (typeof v === 'function' && k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'value') e.value = v;
    else if (k === 'checked') e.checked = !!v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

// append adds children to a node: nodes as they are, other values as text.
export function append(parent, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return parent;
}

// text is a value as text: JSON for objects, "" for null.
export function text(v) {
  if (v == null) return '';
  if (typeof v === 'object') return JSON.stringify(v, null, 2);
  return String(v);
}

// table makes a table from column heads and rows of cells.
export function table(heads, rows, caption) {
  return el('div', { class: 'scroll' },
    el('table', {},
      caption ? el('caption', {}, caption) : null,
      el('thead', {}, el('tr', {}, heads.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: heads.length, class: 'empty' }, 'Nothing here yet.')))));
}

// tr makes a table row of cells.
export function tr(cells, attrs) {
  return el('tr', attrs, cells.map((c) => el('td', {}, c)));
}

// pre shows a value as preformatted text: JSON is indented.
export function pre(v) {
  let s = text(v);
  if (typeof v === 'string') {
    try { s = JSON.stringify(JSON.parse(v), null, 2); } catch { /* not JSON: as is */ }
  }
  return el('pre', {}, s);
}

// badge shows a state with a class for its colour.
export function badge(state) {
  const s = String(state ?? '');
  const good = /^(succeeded|queued|passed|accepted|INTEGRATION_ACTIVE|2\d\d|skipped|duplicate|handshake|running|pending)$/.test(s);
  const bad = /(failed|FAILED|invalid|missing|error|rejected|too_large|not_allowed|tolerance|cancelled|DEACTIVATED|^[45]\d\d$)/.test(s);
  return el('span', { class: 'badge ' + (bad ? 'bad' : good ? 'good' : 'neutral') }, s);
}

// time shows a timestamp in the visitor's time zone, the exact value in
// its title.
export function time(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return el('time', { datetime: ts, title: ts }, isNaN(d) ? ts : d.toLocaleString());
}

// link is a link to a view of the dashboard.
export function link(hash, label) {
  return el('a', { href: hash }, label);
}

// svg makes an SVG element.
export function svg(tag, attrs, ...children) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  append(e, children);
  return e;
}
