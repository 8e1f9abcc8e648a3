// Outgoing webhooks: the list with state and held counts, the 1NCE form,
// test, restart, rotate secret, deactivate; a webhook's delivery log with
// every attempt's request and answer, retry and bulk retry.
import { el, table, tr, badge, time, link, pre, text } from './dom.js';
import { api, items, session } from './api.js';
import { filters, pager, pageQuery, command, section, requestForm, say, curlLine, refresh } from './controls.js';

const eventTypes = ['action.queued', 'action.running', 'action.succeeded', 'action.failed', 'action.cancelled', 'hook.received', 'hook.rejected'];
const webhookStates = ['', 'INTEGRATION_ACTIVE', 'INTEGRATION_NEW', 'INTEGRATION_FAILED', 'INTEGRATION_DEACTIVATED'];
const deliveryStates = ['', 'failed', 'pending', 'waiting', 'held', 'succeeded'];


export async function webhooks(query) {
  const q = query.get('state') ? 'state=' + encodeURIComponent(query.get('state')) + '&' : '';
  const path = `webhooks?${q}${pageQuery(query)}`;
  const [answer, pipelines] = await Promise.all([api('GET', path), api('GET', 'pipelines?pageSize=100')]);
  const rows = items(answer).map((w) => tr([
    link('#/webhooks/' + encodeURIComponent(w.id), w.name), badge(w.state), el('code', {}, w.url),
    (w.eventTypes || []).map((t) => t.type).join(', '),
    w.default ? 'default' : (w.pipelines || []).length ? 'pipelines ' + w.pipelines.join(', ') : 'every pipeline',
    `${w.deliveries.pending} pending · ${w.deliveries.waiting} waiting · ${w.deliveries.held} held`,
    w.source, el('div', { class: 'commands' }, webhookCommands(w)),
  ]));
  return el('div', {},
    el('h1', {}, 'Webhooks'),
    filters(query, [{ name: 'state', label: 'State', options: webhookStates }]),
    table(['Name', 'State', 'URL', 'Events', 'Scope', 'Deliveries', 'Source', ''], rows, 'Outgoing webhooks'),
    pager(answer),
    curlLine('GET', path),
    session.readOnly ? null : section('Create a webhook', createForm(items(pipelines))));
}

// webhookCommands are a webhook's buttons.
function webhookCommands(w) {
  const p = 'webhooks/' + encodeURIComponent(w.id);
  const out = [
    command('Test', 'POST', p + '/test', { done: (a) => `Test of ${w.name}: ${a.success ? 'delivered' : 'failed'} (${a.attempt.statusCode || a.attempt.error})`, after: refresh }),
    command('Restart', 'POST', p + '/restart', { done: (a) => `${w.name} restarted, ${a.restartedDeliveries} deliveries sent`, after: refresh }),
    command('Rotate secret', 'POST', p + '/rotate-secret', { confirm: `Give ${w.name} a new secret?`, done: (a) => `New secret of ${w.name} (shown this once): ${a.secret}` }),
  ];
  if (w.source !== 'config') {
    out.push(w.state === 'INTEGRATION_DEACTIVATED'
      ? command('Activate', 'PATCH', p, { body: { state: 'INTEGRATION_ACTIVE' }, done: () => `${w.name} activated`, after: refresh })
      : command('Deactivate', 'PATCH', p, { body: { state: 'INTEGRATION_DEACTIVATED' }, danger: true, done: () => `${w.name} deactivated`, after: refresh }));
  }
  return out;
}

// createForm is the 1NCE webhook form.
function createForm(pipelines) {
  const name = el('input', { id: 'wh-name', required: true, placeholder: 'deploy-status' });
  const url = el('input', { id: 'wh-url', required: true, type: 'url', placeholder: 'https://example.com/hooks', size: 40 });
  const headers = el('tbody');
  const headerRow = (k = '', v = '') => {
    const row = el('tr', {},
      el('td', {}, el('input', { 'aria-label': 'Header name', name: 'h-name', value: k })),
      el('td', {}, el('input', { 'aria-label': 'Header value', name: 'h-value', value: v, size: 30 })),
      el('td', {}, el('button', { type: 'button', onclick: () => row.remove() }, 'Remove')));
    headers.append(row);
  };
  headerRow('Authorization', '');
  const types = eventTypes.map((t) => el('input', { type: 'checkbox', name: 'event', value: t, id: 'ev-' + t, checked: t.startsWith('action.') }));
  const json = el('input', { id: 'wh-json', type: 'checkbox' });
  const scoped = pipelines.map((p) => el('input', { type: 'checkbox', name: 'scope', value: p.name, id: 'scope-' + p.name }));
  const isDefault = el('input', { id: 'wh-default', type: 'checkbox' });
  const body = () => {
    const h = {};
    for (const row of headers.children) {
      const k = row.querySelector('[name=h-name]').value.trim();
      if (k) h[k] = row.querySelector('[name=h-value]').value;
    }
    return { name: name.value, url: url.value, headers: h,
      eventTypes: types.filter((c) => c.checked).map((c) => ({ type: c.value, version: '1.0.0' })), jsonPayloadEnabled: json.checked,
      pipelines: scoped.filter((c) => c.checked).map((c) => c.value), default: isDefault.checked };
  };
  const result = el('div', { 'aria-live': 'polite' });
  return requestForm('Create a webhook', 'Create webhook', [
    el('label', { for: 'wh-name' }, 'Name'), name,
    el('label', { for: 'wh-url' }, 'URL'), url,
    el('fieldset', {}, el('legend', {}, 'Headers (authorization)'), el('div', { class: 'scroll' }, el('table', {}, headers)),
      el('button', { type: 'button', onclick: () => headerRow() }, 'Add a header')),
    el('fieldset', {}, el('legend', {}, 'Event types'), types.map((c) => el('label', { for: c.id, class: 'inline' }, c, ' ', c.value))),
    el('label', { for: 'wh-json', class: 'inline' }, json, ' Include the incoming payload (jsonPayloadEnabled)'),
    el('fieldset', {}, el('legend', {}, 'Scope (none checked: every pipeline)'),
      scoped.map((c) => el('label', { for: c.id, class: 'inline' }, c, ' ', c.value)),
      el('label', { for: 'wh-default', class: 'inline' }, isDefault, ' default: the pipelines no scoped webhook covers')),
    result,
  ], () => ['POST', 'webhooks', body()], (w) => {
    say(`Webhook ${w.name} created`, false);
    result.replaceChildren(el('p', {}, 'Secret (shown this once, to verify its deliveries): ', el('code', { class: 'secret' }, w.secret)),
      el('p', {}, link('#/webhooks/' + encodeURIComponent(w.id), 'Its deliveries')));
  });
}

// deliveries is a webhook's delivery log.
export async function deliveries(query, id) {
  const base = 'webhooks/' + encodeURIComponent(id);
  const w = await api('GET', base);
  const status = query.get('status') || '';
  const path = `${base}/deliveries?${status ? 'status=' + encodeURIComponent(status) + '&' : ''}${pageQuery(query)}`;
  const answer = await api('GET', path);
  return el('div', {},
    el('h1', {}, 'Deliveries of ', w.name),
    el('p', {}, badge(w.state), ' ', el('code', {}, w.url), ' · ', `${w.deliveries.pending} pending, ${w.deliveries.held} held`),
    el('div', { class: 'commands' }, webhookCommands(w)),
    filters(query, [{ name: 'status', label: 'Status', options: deliveryStates }]),
    ['failed', 'succeeded', 'pending', 'held'].includes(status)
      ? el('p', {}, command(`Retry every ${status} delivery`, 'POST', `${base}/deliveries/retry?status=${status}`, {
        done: (a) => `${a.retried} deliveries sent again${a.skipped ? `, ${a.skipped} waiting behind another` : ''}`, after: refresh,
      }))
      : el('p', { class: 'muted' }, 'Choose a status to retry every delivery in it.'),
    items(answer).map((d) => deliveryDetail(w, d)),
    items(answer).length ? null : el('p', { class: 'muted' }, 'No deliveries.'),
    pager(answer),
    curlLine('GET', path));
}

// deliveryDetail is a delivery with its request and every attempt's answer.
export function deliveryDetail(w, d) {
  const p = `webhooks/${encodeURIComponent(w.id)}/deliveries/${encodeURIComponent(d.id)}/retry`;
  return el('article', { class: 'delivery' },
    el('h3', {}, badge(d.status), ' ', el('code', {}, d.eventType), ' ', el('span', { class: 'muted' }, d.id)),
    el('p', {}, 'Event ', el('code', {}, d.eventId), d.actionId ? [' of action ', link('#/actions/' + encodeURIComponent(d.actionId), d.actionId)] : '',
      ' · created ', time(d.createdTime), d.nextAttemptTime ? [' · next attempt ', time(d.nextAttemptTime)] : ''),
    command('Retry', 'POST', p, { done: () => `Delivery ${d.id} sent again`, after: refresh }),
    el('details', { 'data-key': 'body-' + d.id }, el('summary', {}, 'Request body'), pre(text(d.body))),
    table(['#', 'Time', 'URL', 'Answer', 'Took', 'Response'], (d.attempts || []).map((a) => tr([
      a.number, time(a.time), el('code', {}, a.url), a.statusCode ? badge(String(a.statusCode)) : el('span', { class: 'badge bad' }, a.error || 'no answer'),
      `${a.durationMs} ms`, el('details', { 'data-key': `resp-${d.id}-${a.number}` }, el('summary', {}, a.error || 'response'), pre(text(a.response))),
    ])), 'Attempts'));
}
