// Incoming hooks: every pipeline's hooks, and the Devopness create form
// with its variables editor.
import { el, table, tr, badge } from './dom.js';
import { api, items, quote, session } from './api.js';
import { command, section, requestForm, say, refresh } from './controls.js';

export async function hooks() {
  const pipelines = items(await api('GET', 'pipelines?pageSize=100'));
  const rows = [];
  for (const p of pipelines) {
    // The Devopness list has the pipeline's outgoing hooks too: those are under Webhooks.
    for (const h of items(await api('GET', `pipelines/${encodeURIComponent(p.name)}/hooks?pageSize=100`)).filter((x) => x.type !== 'outgoing')) {
      rows.push(tr([
        h.name, p.name, badge(h.source || 'api'), h.url ? el('code', {}, h.url) : '',
        h.signature || (h.requires_secret ? `${h.secret_algorithm || 'sha256'} in ${h.secret_header_name || 'X-Hub-Signature-256'}` : 'none'),
        ((h.settings && h.settings.variables) || []).map((v) => el('div', {}, v.name, v.path ? ' ← ' + v.path : '', v.default_value != null ? ' = ' + v.default_value : '')),
        h.source === 'config' ? el('span', { class: 'muted' }, 'in the Caddyfile') : command('Delete', 'DELETE', 'hooks/' + encodeURIComponent(h.id), {
          danger: true, confirm: `Delete the hook ${h.name}?`, done: () => `Hook ${h.name} deleted`,
          after: refresh,
        }),
      ]));
    }
  }
  return el('div', {},
    el('h1', {}, 'Hooks'),
    table(['Name', 'Pipeline', 'Source', 'URL', 'Signature', 'Variables', ''], rows, 'Incoming hooks'),
    session.readOnly ? null : section('Create an incoming hook', createForm(pipelines)));
}

// createForm is the Devopness incoming-hook form.
function createForm(pipelines) {
  const vars = el('tbody');
  const result = el('div', { 'aria-live': 'polite' });
  const field = (id, label, input) => [el('label', { for: id }, label), input];
  const pipeline = el('select', { id: 'hook-pipeline', required: true }, pipelines.map((p) => el('option', { value: p.name }, p.name)));
  const name = el('input', { id: 'hook-name', required: true, placeholder: 'deploy-main' });
  const requires = el('input', { id: 'hook-requires', type: 'checkbox', checked: true });
  const algorithm = el('select', { id: 'hook-algorithm' }, ['sha256', 'sha1', 'sha512'].map((a) => el('option', { value: a }, a)));
  const header = el('input', { id: 'hook-header', value: 'X-Hub-Signature-256' });
  const addVar = () => vars.append(variableRow());
  const body = () => ({
    name: name.value, requires_secret: requires.checked, secret_algorithm: algorithm.value, secret_header_name: header.value,
    action_type: 'deploy',
    settings: { variables: [...vars.children].map(readVariable).filter((v) => v.name) },
  });
  return requestForm('Create an incoming hook', 'Create hook', [
    field('hook-pipeline', 'Pipeline', pipeline), field('hook-name', 'Name', name),
    el('label', { for: 'hook-requires', class: 'inline' }, requires, ' Requires a signature'),
    field('hook-algorithm', 'Secret algorithm', algorithm), field('hook-header', 'Signature header', header),
    el('fieldset', {}, el('legend', {}, 'Variables'),
      el('div', { class: 'scroll' }, el('table', {}, el('thead', {}, el('tr', {}, ['Name', 'Path', 'Type', 'Required', 'Default', ''].map((h) => el('th', {}, h)))), vars)),
      el('button', { type: 'button', onclick: addVar }, 'Add a variable')),
    result,
  ], () => ['POST', `pipelines/${encodeURIComponent(pipeline.value)}/hooks/incoming`, body()], (created) => {
    say(`Hook ${created.name} created`, false);
    result.replaceChildren(createdHook(created));
  });
}

// variableRow is a row of the variables editor.
function variableRow() {
  const row = el('tr', {},
    el('td', {}, el('input', { 'aria-label': 'Variable name', name: 'var-name', size: 10 })),
    el('td', {}, el('input', { 'aria-label': 'Path', name: 'var-path', size: 14, placeholder: 'ref or header:X-Event' })),
    el('td', {}, el('select', { 'aria-label': 'Type', name: 'var-type' }, ['string', 'integer', 'number', 'boolean', 'array', 'json'].map((t) => el('option', { value: t }, t)))),
    el('td', {}, el('input', { 'aria-label': 'Required', name: 'var-required', type: 'checkbox' })),
    el('td', {}, el('input', { 'aria-label': 'Default', name: 'var-default', size: 8 })),
    el('td', {}, el('button', { type: 'button', onclick: () => row.remove() }, 'Remove')));
  return row;
}

// readVariable reads a row of the variables editor.
function readVariable(row) {
  const get = (n) => row.querySelector(`[name=${n}]`);
  const v = { name: get('var-name').value.trim(), path: get('var-path').value.trim(), type: get('var-type').value, required: get('var-required').checked };
  if (get('var-default').value !== '') v.default_value = get('var-default').value;
  return v;
}

// createdHook shows a new hook's URL, its secret (this once) and a signed
// curl line to try it.
function createdHook(h) {
  const alg = h.secret_algorithm || 'sha256';
  const signed = h.secret
    ? `body='{}'; curl -X POST ${quote(h.url)} -H 'Content-Type: application/json' -H "${h.secret_header_name || 'X-Hub-Signature-256'}: ${alg}=$(printf %s "$body" | openssl dgst -${alg} -hmac ${quote(h.secret)} | sed 's/^.*= //')" --data-binary "$body"`
    : `curl -X POST ${quote(h.url)} -H 'Content-Type: application/json' -d '{}'`;
  return el('div', { class: 'created' },
    el('p', {}, 'URL: ', el('code', {}, h.url)),
    h.secret ? el('p', {}, 'Secret (shown this once): ', el('code', { class: 'secret' }, h.secret)) : null,
    el('p', {}, 'Try it:'), el('code', { class: 'block' }, signed));
}
