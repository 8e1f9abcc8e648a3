// Pipelines and actions: the actions list with its filters, run, and one
// action's chain: the request that led to it, its steps, and the events
// and deliveries it made, with every attempt.
import { el, table, tr, badge, time, link, pre, text } from './dom.js';
import { api, items, session } from './api.js';
import { filters, pager, pageQuery, command, section, requestForm, curlLine, refresh } from './controls.js';
import { deliveryDetail } from './webhooks.js';

const states = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];

export async function actions(query) {
  const pipelines = items(await api('GET', 'pipelines?pageSize=100'));
  const q = new URLSearchParams();
  for (const k of ['pipeline', 'status']) if (query.get(k)) q.set(k, query.get(k));
  const path = `actions?${q.toString() ? q + '&' : ''}${pageQuery(query)}`;
  const answer = await api('GET', path);
  const rows = items(answer).map((a) => tr([
    link('#/actions/' + encodeURIComponent(a.id), a.id), a.pipeline, a.hook, badge(a.status), a.reason || '',
    time(a.created_at), duration(a),
  ]));
  return el('div', {},
    el('h1', {}, 'Pipelines and actions'),
    table(['Pipeline', 'Steps', 'Queued', 'Running', 'Succeeded', 'Failed', 'Cancelled'], pipelines.map((p) => tr([
      link('#/actions?pipeline=' + encodeURIComponent(p.name), p.name), (p.steps || []).join(' → '),
      ...['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => (p.actions || {})[s] || 0),
    ])), 'Pipelines'),
    filters(query, [
      { name: 'pipeline', label: 'Pipeline', options: ['', ...pipelines.map((p) => p.name)] },
      { name: 'status', label: 'State', options: states },
    ]),
    table(['Action', 'Pipeline', 'Hook', 'State', 'Reason', 'Created', 'Took'], rows, 'Actions, newest first'),
    pager(answer),
    curlLine('GET', path),
    session.readOnly ? null : section('Run a pipeline', runForm(pipelines)));
}

// duration is how long an action ran, once it ended.
function duration(a) {
  if (!a.started_at || !a.finished_at) return '';
  return ((Date.parse(a.finished_at) - Date.parse(a.started_at)) / 1000).toFixed(1) + ' s';
}

// runForm runs a pipeline by hand with variables.
function runForm(pipelines) {
  const pipeline = el('select', { id: 'run-pipeline' }, pipelines.map((p) => el('option', { value: p.name }, p.name)));
  const vars = el('textarea', { id: 'run-variables', rows: 3, cols: 40 }, '{}');
  const request = () => {
    let variables;
    try { variables = JSON.parse(vars.value || '{}'); } catch { throw new Error('Variables: not a JSON object'); }
    return ['POST', `pipelines/${encodeURIComponent(pipeline.value)}/run`, { variables }];
  };
  return requestForm('Run a pipeline', 'Run', [
    el('label', { for: 'run-pipeline' }, 'Pipeline'), pipeline,
    el('label', { for: 'run-variables' }, 'Variables (JSON object)'), vars,
  ], request, (a) => { location.hash = '#/actions/' + encodeURIComponent(a.action_id || a.id); });
}

// actionView is one action and everything it is linked to.
export async function actionView(query, id) {
  const path = 'actions/' + encodeURIComponent(id);
  const a = await api('GET', path);
    const [request, chain] = await Promise.all([requestOf(id), deliveriesOf(id)]);
  return el('div', {},
    el('h1', {}, 'Action ', el('code', {}, a.id)),
    el('dl', { class: 'facts' },
      el('dt', {}, 'State'), el('dd', {}, badge(a.status), a.reason ? ` ${a.reason}` : '', a.detail ? ` — ${a.detail}` : ''),
      el('dt', {}, 'Pipeline'), el('dd', {}, link('#/actions?pipeline=' + encodeURIComponent(a.pipeline), a.pipeline)),
      el('dt', {}, 'Hook'), el('dd', {}, a.hook),
      el('dt', {}, 'Request'), el('dd', {}, request ? link('#/requests?hook=' + encodeURIComponent(request.hook), `${request.method} ${request.path} from ${request.remoteIp}`) : 'not in this instance\'s request log'),
      el('dt', {}, 'Created'), el('dd', {}, time(a.created_at)),
      el('dt', {}, 'Ran'), el('dd', {}, time(a.started_at), ' → ', time(a.finished_at), ' ', duration(a))),
    ['queued', 'running'].includes(a.status) ? command('Cancel', 'POST', path + '/cancel', { danger: true, done: () => 'Cancel requested', after: refresh }) : null,
    section('Variables', pre(a.variables)),
    section('Steps', table(['Step', 'Kind', 'State', 'Exit code / HTTP', 'Took', 'Output'], (a.steps || []).map((s, i) => tr([
      s.name, s.kind, badge(s.status), s.exit_code ?? s.http_status ?? '', `${s.duration_ms} ms`,
      el('details', { 'data-key': `step-${i}` }, el('summary', {}, s.error || (s.output ? 'output' : 'no output')), pre(text(s.output)),
        s.output_truncated ? el('p', { class: 'muted' }, 'output truncated at 64 KiB') : null),
    ])))),
    section('Events and deliveries', chain.length ? chain : el('p', { class: 'muted' }, 'No webhook got an event of this action.')),
    curlLine('GET', path));
}

// requestOf finds the logged request that led to an action.
async function requestOf(id) {
  try {
    return items(await api('GET', 'requests?pageSize=100')).find((r) => r.actionId === id);
  } catch {
    return null;
  }
}

// deliveriesOf lists, for each webhook, the deliveries of an action's events.
async function deliveriesOf(id) {
  const out = [];
  for (const w of items(await api('GET', 'webhooks?pageSize=100'))) {
    const list = items(await api('GET', `webhooks/${encodeURIComponent(w.id)}/deliveries?action=${encodeURIComponent(id)}&pageSize=100`));
    if (!list.length) continue;
    out.push(el('article', { class: 'chain' },
      el('h3', {}, 'To ', link('#/webhooks/' + encodeURIComponent(w.id), w.name), ' ', badge(w.state)),
      list.map((d) => deliveryDetail(w, d))));
  }
  return out;
}
