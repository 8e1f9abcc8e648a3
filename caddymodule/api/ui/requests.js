// The request log: the latest incoming requests of this instance, with
// each rejection's reason, and the action each led to.
import { el, table, tr, badge, time, link, pre, text } from './dom.js';
import { api, items } from './api.js';
import { filters, pager, pageQuery, curlLine } from './controls.js';

const results = ['', 'rejected', 'accepted', 'signature_invalid', 'signature_missing', 'timestamp_out_of_tolerance',
  'invalid_payload', 'invalid_variables', 'method_not_allowed', 'payload_too_large', 'queued', 'passed', 'skipped', 'duplicate'];

export async function requests(query) {
  const q = new URLSearchParams();
  for (const k of ['hook', 'result', 'since']) if (query.get(k)) q.set(k, query.get(k));
  const path = `requests?${q.toString() ? q + '&' : ''}${pageQuery(query)}`;
  const answer = await api('GET', path);
  const rows = [];
  for (const r of items(answer)) {
    rows.push(tr([
      time(r.time), r.hook, `${r.method} ${r.path}`, badge(r.result), r.status ?? 'passed on', r.detail || '',
      [r.actionId ? link('#/actions/' + encodeURIComponent(r.actionId), r.actionId) : '', r.eventId ? el('div', {}, 'event ', el('code', {}, r.eventId)) : ''],
    ]));
    rows.push(el('tr', { class: 'sub' }, el('td', { colspan: 7 },
      el('details', { 'data-key': 'req-' + r.id }, el('summary', {}, 'headers and body'), requestDetail(r)))));
  }
  return el('div', {},
    el('h1', {}, 'Requests'),
    el('p', { class: 'muted' }, 'The latest requests this instance answered (behind a load balancer, each instance keeps its own). Secrets and signatures are redacted.'),
    filters(query, [
      { name: 'hook', label: 'Hook', placeholder: 'any hook' },
      { name: 'result', label: 'Result', options: results },
      { name: 'since', label: 'Since', options: [['', 'any time'], ['15m', 'last 15 minutes'], ['1h', 'last hour'], ['24h', 'last 24 hours']] },
    ]),
    table(['Time', 'Hook', 'Request', 'Result', 'Status', 'Why', 'Action or event'], rows, 'Incoming requests, newest first'),
    pager(answer),
    curlLine('GET', path));
}

// requestDetail shows a request's headers and body.
function requestDetail(r) {
  const headers = Object.entries(r.headers || {}).sort(([a], [b]) => a.localeCompare(b));
  return el('div', { class: 'detail' },
    el('h3', {}, 'Headers'),
    el('dl', {}, headers.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
    el('h3', {}, `Body (${r.bodySize} bytes${r.bodyTruncated ? ', first 16 KiB shown' : ''})`),
    pre(text(r.body)));
}
