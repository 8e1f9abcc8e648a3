// The event catalog: every event a webhook can subscribe to, with the
// body a receiver gets.
import { el, pre } from './dom.js';
import { api, items } from './api.js';
import { curlLine } from './controls.js';

export async function events() {
  const answer = await api('GET', 'events');
  return el('div', {},
    el('h1', {}, 'Events'),
    el('p', { class: 'muted' }, 'Each delivery is signed with the Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature).'),
    items(answer).map((e) => el('article', { class: 'event' },
      el('h2', {}, el('code', {}, e.type), ' ', el('span', { class: 'muted' }, 'v' + e.version)),
      el('p', {}, e.description),
      el('details', { 'data-key': 'ev-' + e.type }, el('summary', {}, 'Example body'), pre(e.example)))),
    curlLine('GET', 'events'));
}
