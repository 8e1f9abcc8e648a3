// The dashboard's controls: buttons that call the API and show their curl
// line, filters kept in the URL, pagers, and the message banner.
import { el, append } from './dom.js';
import { api, curl, session, APIError } from './api.js';

// say shows a message in the banner: an error (role alert) or a notice.
export function say(message, isError) {
  const box = document.getElementById('error');
  box.textContent = message;
  box.className = isError ? 'error' : 'notice';
  box.hidden = !message;
}

// fail shows an error of the API or of the page in the banner.
export function fail(err) {
  if (err instanceof APIError && err.status === 401) {
    session.clear();
    say('Signed out: the token was refused (' + err.message + ')', true);
    refresh();
    return;
  }
  say(err instanceof APIError ? 'The API refused: ' + err.message : String(err && err.message || err), true);
}

// refresh renders the current view again, keeping the banner's message.
export function refresh() {
  window.dispatchEvent(new Event('hookgate-refresh'));
}

// curlLine shows the command line of a request, folded.
export function curlLine(method, path, body) {
  return el('details', { class: 'curl' }, el('summary', {}, 'curl'), el('code', {}, curl(method, path, body)));
}

// command is a button that makes one API request, with the curl line
// that makes the same. done turns the answer into a notice; after runs
// next (usually a refresh). Writes are disabled for a read token.
export function command(label, method, path, { body, done, after, danger, confirm: ask } = {}) {
  const write = method !== 'GET';
  const b = el('button', {
    type: 'button', class: danger ? 'danger' : null, disabled: write && session.readOnly,
    title: write && session.readOnly ? 'Your token may only read' : null,
    onclick: async () => {
      if (ask && !window.confirm(ask)) return;
      b.disabled = true;
      try {
        const answer = await api(method, path, body);
        say(done ? done(answer) : label + ': done', false);
        if (after) await after(answer);
      } catch (err) {
        fail(err);
      } finally {
        b.disabled = write && session.readOnly;
      }
    },
  }, label);
  return el('span', { class: 'command' }, b, curlLine(method, path, body));
}

// route is the current view's path and query, from the URL's fragment.
export function route() {
  const h = location.hash.slice(1) || '/';
  const i = h.indexOf('?');
  return { path: i < 0 ? h : h.slice(0, i), query: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)) };
}

// hashWith is the current view's fragment with some query values changed
// (empty ones removed).
export function hashWith(changes) {
  const { path, query } = route();
  for (const [k, v] of Object.entries(changes)) {
    if (v === '' || v == null) query.delete(k);
    else query.set(k, v);
  }
  const q = query.toString();
  return '#' + path + (q ? '?' + q : '');
}

// filters is a bar of filters whose values live in the URL: changing one
// goes to the first page of the new selection.
export function filters(query, fields) {
  const form = el('form', { class: 'filters', role: 'search' });
  for (const f of fields) {
    const id = 'filter-' + f.name;
    const value = query.get(f.name) || f.default || '';
    let input;
    if (f.options) {
      input = el('select', { id, name: f.name },
        f.options.map((o) => {
          const [v, label] = Array.isArray(o) ? o : [o, o || 'any'];
          return el('option', { value: v, selected: v === value }, label);
        }));
    } else {
      input = el('input', { id, name: f.name, value, placeholder: f.placeholder || '', size: 14 });
    }
    input.addEventListener('change', () => { location.hash = hashWith({ [f.name]: input.value, page: '' }); });
    append(form, [el('label', { for: id }, f.label), input]);
  }
  form.addEventListener('submit', (e) => e.preventDefault());
  return form;
}

// pager links to the pages around a list answer's page.
export function pager(answer) {
  if (!answer || !answer.pageAmount || answer.pageAmount < 2) return null;
  const p = answer.page;
  return el('nav', { class: 'pager', 'aria-label': 'Pages' },
    p > 1 ? el('a', { href: hashWith({ page: p - 1 }) }, '← newer') : null,
    el('span', {}, `page ${p} of ${answer.pageAmount}`),
    p < answer.pageAmount ? el('a', { href: hashWith({ page: p + 1 }) }, 'older →') : null);
}

// pageQuery is the page= part of an API path for the view's query.
export function pageQuery(query, size = 20) {
  return `page=${encodeURIComponent(query.get('page') || '1')}&pageSize=${size}`;
}

// section is a titled part of a view.
export function section(title, ...children) {
  return el('section', {}, el('h2', {}, title), children);
}

// requestForm is a form that makes one API request: its fields, then
// its submit button and the curl line of the request as filled in. A
// refresh leaves it alone while it is being edited. request gives
// [method, path, body] (and throws on a field it cannot read); done gets
// the answer.
export function requestForm(label, submit, fields, request, done) {
  const curlBox = el('code');
  const form = el('form', { class: 'create', 'aria-label': label },
    fields, el('button', { type: 'submit' }, submit), el('details', { class: 'curl' }, el('summary', {}, 'curl'), curlBox));
  const show = () => {
    try {
      const [method, path, body] = request();
      curlBox.textContent = curl(method, path, body);
    } catch (err) {
      curlBox.textContent = String(err.message);
    }
  };
  form.addEventListener('input', () => { form.dataset.dirty = '1'; show(); });
  form.addEventListener('change', show);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const answer = await api(...request());
      delete form.dataset.dirty;
      await done(answer);
    } catch (err) {
      fail(err);
    }
  });
  show();
  return form;
}
