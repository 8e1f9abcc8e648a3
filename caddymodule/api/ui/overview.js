// The overview: hooks by result, actions by state, deliveries by outcome
// and latency, webhooks by state, over time.
import { el, svg, badge } from './dom.js';
import { api, items } from './api.js';
import { filters, section, curlLine } from './controls.js';

// good are the request results that are not a refusal.
const good = new Set(['queued', 'passed', 'skipped', 'duplicate', 'handshake', 'succeeded', 'accepted']);

export async function overview(query) {
  const since = query.get('since') || '24h';
  const path = 'stats?since=' + encodeURIComponent(since);
  const [s, hooks] = await Promise.all([api('GET', path), api('GET', 'webhooks?pageSize=100')]);
  const webhookStates = {};
  for (const w of items(hooks)) webhookStates[w.state] = (webhookStates[w.state] || 0) + 1;
  const hookSeries = s.hooks.series.map((m) => split(m, (k) => good.has(k)));
  const actionSeries = s.actions.series.map((m) => [m.succeeded || 0, (m.failed || 0) + (m.cancelled || 0), (m.queued || 0) + (m.running || 0)]);
  const deliverySeries = s.deliveries.series.map((w) => [w.succeeded, w.failed]);
  return el('div', {},
    el('h1', {}, 'Overview'),
    filters(query, [{ name: 'since', label: 'Since', default: '24h', options: [['1h', 'last hour'], ['24h', 'last 24 hours'], ['168h', 'last 7 days'], ['720h', 'last 30 days']] }]),
    el('div', { class: 'cards' },
      card('Incoming requests', s.hooks.total, 'this instance'),
      card('Actions', s.actions.total, s.actions.avgDurationMs ? `mean run ${Math.round(s.actions.avgDurationMs)} ms` : ''),
      card('Delivery attempts', { succeeded: s.deliveries.succeeded, failed: s.deliveries.failed },
        `latency p50 ${s.deliveries.latencyMs.p50} ms · p95 ${s.deliveries.latencyMs.p95} ms`),
      card('Webhooks', webhookStates, 'now')),
    section('Incoming requests', chart(hookSeries, ['accepted', 'rejected'], s)),
    section('Actions', chart(actionSeries, ['succeeded', 'failed or cancelled', 'queued or running'], s)),
    section('Delivery attempts', chart(deliverySeries, ['succeeded', 'failed'], s),
      el('p', { class: 'muted' }, 'p95 latency per interval: ', s.deliveries.series.map((w) => w.p95 || 0).join(' · '), ' ms')),
    curlLine('GET', path));
}

// split sums a count map into those keep takes and the others.
function split(m, keep) {
  let a = 0;
  let b = 0;
  for (const [k, n] of Object.entries(m)) {
    if (keep(k)) a += n; else b += n;
  }
  return [a, b];
}

// card shows counts by name.
function card(title, counts, note) {
  const entries = Object.entries(counts || {});
  return el('article', { class: 'card' },
    el('h2', {}, title),
    entries.length ? el('ul', {}, entries.map(([k, n]) => el('li', {}, badge(k), ' ', el('strong', {}, n)))) : el('p', { class: 'muted' }, 'none yet'),
    note ? el('p', { class: 'muted' }, note) : null);
}

// chart draws stacked bars, one per interval, with a legend.
function chart(series, legend, s) {
  const w = 600;
  const h = 120;
  const max = Math.max(1, ...series.map((parts) => parts.reduce((x, y) => x + y, 0)));
  const bar = w / Math.max(1, series.length);
  const g = svg('svg', { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none', class: 'chart', role: 'img', 'aria-label': legend.join(', ') + ' per interval' });
  series.forEach((parts, i) => {
    let y = h;
    parts.forEach((n, j) => {
      if (!n) return;
      const height = (n / max) * (h - 4);
      y -= height;
      const start = new Date(Date.parse(s.since) + i * s.intervalSeconds * 1000);
      g.append(svg('rect', { x: i * bar + 1, y, width: Math.max(1, bar - 2), height, class: 'part' + j },
        svg('title', {}, `${start.toLocaleString()}: ${n} ${legend[j]}`)));
    });
  });
  return el('figure', {}, g,
    el('figcaption', {}, legend.map((l, j) => el('span', { class: 'key part' + j }, l)),
      el('span', { class: 'muted' }, ` · ${series.length} intervals of ${s.intervalSeconds / 60} min, max ${max}`)));
}
