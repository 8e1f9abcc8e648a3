// The hookgate dashboard: sign-in, the views, and the refresh.
import { el, append } from './dom.js';
import { api, session, APIError } from './api.js';
import { say, fail, route } from './controls.js';
import { overview } from './overview.js';
import { requests } from './requests.js';
import { hooks } from './hooks.js';
import { actions, actionView } from './actions.js';
import { webhooks, deliveries } from './webhooks.js';
import { events } from './events.js';

// views are the dashboard's views: the fragment's path, its title, and
// what renders it.
const views = [
  [/^\/$/, 'Overview', overview, '#/'],
  [/^\/requests$/, 'Requests', requests, '#/requests'],
  [/^\/hooks$/, 'Hooks', hooks, '#/hooks'],
  [/^\/actions$/, 'Actions', actions, '#/actions'],
  [/^\/actions\/([^/]+)$/, 'Action', actionView],
  [/^\/webhooks$/, 'Webhooks', webhooks, '#/webhooks'],
  [/^\/webhooks\/([^/]+)$/, 'Deliveries', deliveries],
  [/^\/events$/, 'Events', events, '#/events'],
];

// refreshEvery is how often the current view reloads its data.
const refreshEvery = 5000;

const main = document.getElementById('view');
let rendering = 0;

// render shows the current view, or the sign-in form. A refresh keeps
// the folds the visitor opened.
async function render(refresh) {
  nav();
  if (!session.token) {
    main.replaceChildren(signIn());
    return;
  }
  const { path, query } = route();
  const view = views.find(([re]) => re.test(path));
  if (!view) {
    main.replaceChildren(el('p', {}, 'No such view. '), el('a', { href: '#/' }, 'Go to the overview'));
    return;
  }
  const n = ++rendering;
  try {
    const node = await view[2](query, ...path.match(view[0]).slice(1).map(decodeURIComponent));
    if (n !== rendering) return; // a newer render won
    if (refresh) {
      const open = new Set([...main.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key));
      for (const d of node.querySelectorAll('details[data-key]')) d.open = open.has(d.dataset.key);
    }
    main.replaceChildren(node);
    main.dataset.view = view[1];
  } catch (err) {
    if (n !== rendering) return;
    fail(err);
    if (!refresh && session.token) main.replaceChildren(el('p', {}, 'This view could not be loaded.'));
  }
}

// nav shows the views and who is signed in.
function nav() {
  const current = '#' + route().path;
  const links = session.token ? views.filter((v) => v[3]).map(([, title, , href]) =>
    el('a', { href, 'aria-current': href === current ? 'page' : null }, title)) : [];
  document.getElementById('nav').replaceChildren(...links);
  const who = document.getElementById('who');
  who.replaceChildren();
  if (session.token) {
    append(who, [session.readOnly ? el('span', { class: 'badge neutral' }, 'read-only') : null,
      el('button', { type: 'button', onclick: signOut }, 'Sign out')]);
  }
}

// signIn is the sign-in form: a token, checked against the API, kept in
// sessionStorage; a read token makes the dashboard read-only.
function signIn() {
  const input = el('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = el('form', { class: 'signin', 'aria-label': 'Sign in' },
    el('h1', {}, 'Sign in to hookgate'),
    el('p', {}, 'Paste a token of this hookgate_api (a ', el('code', {}, 'token'), ' line of its configuration). It stays in this tab only.'),
    el('label', { for: 'token' }, 'API token'), input,
    el('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    try {
      await api('GET', 'pipelines?pageSize=1', undefined, token);
    } catch (err) {
      say(err instanceof APIError && err.status === 401 ? 'This token is not valid.' : 'Sign-in failed: ' + err.message, true);
      return;
    }
    let readOnly = false;
    try {
      // A read token is refused (403) before the body is read; a write
      // token gets 400 for the empty body: nothing is created either way.
      await fetch(new URL('webhooks', new URL('..', location.href)), {
        method: 'POST', headers: { Authorization: 'Bearer ' + token }, cache: 'no-store', credentials: 'omit',
      }).then((res) => { readOnly = res.status === 403; });
    } catch { /* the network failed: leave it to the first write */ }
    session.set(token, readOnly);
    say('', false);
    render(false);
  });
  queueMicrotask(() => input.focus());
  return form;
}

// signOut forgets the token.
function signOut() {
  session.clear();
  say('', false);
  render(false);
}

window.addEventListener('hashchange', () => { say('', false); render(false); });
window.addEventListener('hookgate-refresh', () => render(true));
setInterval(() => {
  if (document.visibilityState !== 'visible' || !session.token) return;
  const active = document.activeElement;
  if (main.querySelector('form[data-dirty]') || (active && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName))) return;
  render(true);
}, refreshEvery);
render(false);
