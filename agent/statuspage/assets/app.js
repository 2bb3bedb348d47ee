// dxwatch status page. Plain JavaScript, no framework, no external resource.
// Polls the agent's JSON endpoints (relative URLs, so it works behind a
// reverse proxy under any prefix) and redraws without reloading.
'use strict';
(function () {
  const POLL_MS = 1000;      // /api/status and /api/events
  const SLOW_EVERY = 5;      // /api/site and /api/checks every 5th poll
  const REPORT_EVERY = 60;   // /api/report (the month so far) every 60th poll
  const RING = 120;          // samples kept per sparkline (2 minutes at 1/s)
  const EVENTS_SHOWN = 100;  // newest events drawn
  const EVENTS_KEPT = 500;

  // The SVG namespace, from the HTML parser rather than spelt out here.
  const SVGNS = (function () {
    const d = document.createElement('div');
    d.innerHTML = '<svg></svg>';
    return d.firstChild.namespaceURI;
  })();

  const S = {
    site: null,        // /api/site, or null when the agent does not serve it
    status: null,      // /api/status
    checks: null,      // /api/checks, or null: then status.checks
    report: null,      // /api/report: the month so far, or null when not served
    routes: null,      // /api/routes (the BGP probe), or null when not served
    events: [],        // oldest first
    lastEventId: 0,
    hist: new Map(),   // series key -> [{t, rtt, loss, ok}]
    lastStatusTime: '',
    polls: 0,
    error: null,
    lastOK: null,
    open: new Set(),   // keys of <details> the user opened
  };
  window.dxwatchStatus = S; // for debugging in the browser console

  // ---- DOM helpers -------------------------------------------------------

  function build(doc, ns, tag, attrs, kids) {
    const e = ns ? doc.createElementNS(ns, tag) : doc.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v === null || v === undefined || v === false) continue;
        if (k === 'text') e.textContent = String(v);
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    append(e, kids);
    return e;
  }
  function append(e, kids) {
    for (const k of kids) {
      if (k === null || k === undefined || k === false) continue;
      if (Array.isArray(k)) append(e, k);
      else if (typeof k === 'string' || typeof k === 'number') e.appendChild(document.createTextNode(String(k)));
      else e.appendChild(k);
    }
  }
  const h = (tag, attrs, ...kids) => build(document, null, tag, attrs, kids);
  const s = (tag, attrs, ...kids) => build(document, SVGNS, tag, attrs, kids);
  const $ = (id) => document.getElementById(id);

  // ---- formatting --------------------------------------------------------

  function pad(n, w) { return String(n).padStart(w || 2, '0'); }
  function clock(iso, ms) {
    if (!iso) return '–';
    const d = new Date(iso);
    if (isNaN(d)) return '–';
    let out = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    if (ms) out += '.' + pad(d.getMilliseconds(), 3);
    return out;
  }
  function dur(sec) {
    if (sec === null || sec === undefined || isNaN(sec)) return '–';
    if (sec < 1) return Math.round(sec * 1000) + ' ms';
    if (sec < 60) return sec.toFixed(sec < 10 ? 2 : 1) + ' s';
    const m = Math.floor(sec / 60), r = Math.round(sec % 60);
    if (m < 60) return m + 'm ' + pad(r) + 's';
    return Math.floor(m / 60) + 'h ' + pad(m % 60) + 'm';
  }
  function ago(iso) {
    if (!iso || !S.status) return '';
    const d = (Date.parse(S.status.time) - Date.parse(iso)) / 1000;
    if (!(d >= 0)) return '';
    return dur(d) + ' ago';
  }
  function ms(sec) { return sec ? (sec * 1000).toFixed(sec < 0.01 ? 2 : 1) + ' ms' : '–'; }
  function pct(r) { return (r * 100).toFixed(r && r < 0.01 ? 2 : 0) + '%'; }
  function names(list) { return list && list.length ? list.join(' + ') : 'no link'; }
  function stateWord(st) { return st || 'unknown'; }

  // ---- data --------------------------------------------------------------

  async function getJSON(url) {
    const r = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
    if (!r.ok) {
      const e = new Error(url + ': HTTP ' + r.status);
      e.status = r.status;
      throw e;
    }
    return r.json();
  }
  // optional returns null when the agent does not serve url (404), and
  // undefined on any other failure (the previous value is kept).
  function optional(url) {
    return getJSON(url).catch((e) => (e.status === 404 ? null : undefined));
  }

  // links merges the configured links (IDs, addresses) with their state.
  function links() {
    const st = (S.status && S.status.links) || [];
    const cfg = (S.site && S.site.links) || [];
    const out = [];
    const seen = new Set();
    for (const c of cfg) {
      const l = st.find((x) => x.name === c.name) || { name: c.name, state: 'unknown', reasons: [], evidence: [], active: false };
      out.push(Object.assign({ cfg: c }, l));
      seen.add(c.name);
    }
    for (const l of st) if (!seen.has(l.name)) out.push(Object.assign({ cfg: { name: l.name, role: l.role } }, l));
    return out;
  }
  function targets() {
    const st = (S.status && S.status.targets) || [];
    const cfg = (S.site && S.site.targets) || [];
    return st.map((t) => Object.assign({ cfg: cfg.find((c) => c.name === t.name) || {} }, t))
      .concat(cfg.filter((c) => !st.some((t) => t.name === c.name)).map((c) => ({ name: c.name, host: c.host, active: [], cfg: c })));
  }
  function primaryName() {
    if (S.site && S.site.primary) return S.site.primary;
    const p = links().find((l) => (l.role || l.cfg.role) === 'primary');
    return p ? p.name : '';
  }

  function absorbStatus(st) {
    if (st.time === S.lastStatusTime) return;
    S.lastStatusTime = st.time;
    const t = Date.parse(st.time);
    const add = (key, e) => {
      if (!e) return;
      let r = S.hist.get(key);
      if (!r) S.hist.set(key, (r = []));
      r.push({ t: t, rtt: e.mean_rtt_seconds || 0, loss: e.loss_ratio || 0, ok: e.fresh && !e.down && e.consecutive_lost === 0, fresh: e.fresh });
      if (r.length > RING) r.splice(0, r.length - RING);
    };
    for (const l of st.links || []) for (const e of l.echo || []) add('link:' + l.name + ':' + e.target, e);
    for (const tg of st.targets || []) add('target:' + tg.name, tg.echo);
  }

  function absorbEvents(evs, st) {
    // A reload of the agent's configuration starts a new health model whose
    // event IDs start again at 1: start over.
    const lf = st && st.last_failover;
    if (lf && lf.id < maxFailoverId()) {
      S.events = [];
      S.lastEventId = 0;
      return false;
    }
    for (const e of evs || []) {
      if (e.id <= S.lastEventId) continue;
      S.events.push(e);
      S.lastEventId = e.id;
    }
    if (S.events.length > EVENTS_KEPT) S.events.splice(0, S.events.length - EVENTS_KEPT);
    return true;
  }
  function maxFailoverId() {
    let m = 0;
    for (const e of S.events) if (e.kind !== 'link_state' && e.id > m) m = e.id;
    return m;
  }

  async function tick() {
    const slow = S.polls % SLOW_EVERY === 0;
    S.polls++;
    try {
      const q = S.lastEventId ? '?since=' + S.lastEventId : '';
      const jobs = [getJSON('api/status'), getJSON('api/events' + q)];
      if (slow) jobs.push(optional('api/site'), optional('api/checks'), optional('api/routes'));
      if (S.polls % REPORT_EVERY === 1) optional('api/report').then((r) => { if (r !== undefined) S.report = r; });
      const res = await Promise.all(jobs);
      if (slow) {
        if (res[2] !== undefined) S.site = res[2];
        if (res[3] !== undefined) S.checks = res[3];
        if (res[4] !== undefined) S.routes = res[4];
      }
      if (!absorbEvents(res[1], res[0])) S.polls = 0; // fetch every event again next time
      absorbStatus(res[0]);
      S.status = res[0];
      S.error = null;
      S.lastOK = new Date();
    } catch (e) {
      S.error = e;
    }
    try {
      render();
    } catch (e) {
      $('conn').textContent = 'The page could not draw the status: ' + e.message;
    }
    setTimeout(tick, POLL_MS);
  }

  // ---- rendering ---------------------------------------------------------

  function render() {
    const st = S.status;
    document.body.classList.toggle('stale', !!S.error);
    const conn = $('conn');
    if (S.error) {
      conn.textContent = 'Cannot reach the agent (' + S.error.message + ')' +
        (S.lastOK ? '; showing its state as of ' + clock(S.lastOK.toISOString()) : '') + '. Retrying every second.';
      conn.className = 'conn error';
    } else if (st) {
      conn.textContent = 'Live · agent time ' + clock(st.time) + (st.mode ? ' · ' + st.mode.replace('_', '/') : '');
      conn.className = 'conn';
    }
    if (!st) return;
    const site = st.site || (S.site && S.site.name) || '';
    $('site-name').textContent = site;
    renderSummary(st);
    renderBanner(st);
    renderDiagram();
    renderLinks();
    renderTargets();
    renderRouters();
    renderMonth();
    renderEvents();
    renderCapacity();
    renderChecks();
  }

  function renderSummary(st) {
    const el = $('summary');
    const ls = links();
    const up = ls.filter((l) => l.state === 'up' || l.state === 'degraded').length;
    let text, cls;
    if (st.failover_in_progress) {
      const f = st.failover_in_progress;
      text = 'Failover in progress: ' + names(f.from) + ' → ' + names(f.to);
      cls = 'bad';
    } else if (!st.active_known) {
      text = 'Which link carries the traffic is not known yet';
      cls = 'unknown';
    } else if (!st.active || st.active.length === 0) {
      text = 'No link carries the traffic to the VPC';
      cls = 'bad';
    } else {
      const p = primaryName();
      text = 'Traffic on ' + names(st.active);
      if (p && st.mode !== 'active_active' && st.active.indexOf(p) < 0) {
        // Name the primary's role only when its name does not say it.
        text += p === 'primary' ? ' (not on the primary)' : ' (not on ' + p + ', the primary)';
        cls = 'warn';
      } else cls = up === ls.length ? 'good' : 'warn';
    }
    text += ' · ' + up + ' of ' + ls.length + ' links up';
    const unver = ls.filter((l) => l.state === 'unverified').length;
    if (unver) text += ', ' + unver + ' unverified';
    el.textContent = text;
    el.className = 'summary ' + cls;
    el.setAttribute('data-active', (st.active || []).join(','));
    document.title = 'dxwatch · ' + (st.site || '') + ' · ' + (st.active_known && st.active && st.active.length ? names(st.active) : cls);
  }

  function renderBanner(st) {
    const b = $('banner');
    const f = st.failover_in_progress;
    if (!f) {
      b.hidden = true;
      b.replaceChildren();
      return;
    }
    b.hidden = false;
    b.setAttribute('role', 'alert');
    b.replaceChildren(
      h('strong', { text: 'Failover in progress: ' + names(f.from) + ' → ' + names(f.to) }),
      ' since ' + clock(f.started || f.time, true) + (f.cause ? ' · ' + f.cause : ''));
  }

  // ---- the diagram -------------------------------------------------------

  function renderDiagram() {
    const box = $('diagram');
    const narrow = box.clientWidth > 0 && box.clientWidth < 640;
    const svg = narrow ? diagramNarrow() : diagramWide();
    box.replaceChildren(svg);
  }

  function linkLabel(l) {
    const c = l.cfg || {};
    const parts = ['Link ' + l.name, stateWord(l.state)];
    if (l.active) parts.push('active, carries the traffic');
    if (c.connection_id) parts.push('connection ' + c.connection_id);
    if (c.vif_id) parts.push('virtual interface ' + c.vif_id);
    if (c.vlan) parts.push('VLAN ' + c.vlan);
    if (c.customer_address) parts.push('customer peer ' + c.customer_address);
    if (c.amazon_address) parts.push('Amazon peer ' + c.amazon_address);
    if (l.reasons && l.reasons.length) parts.push('because ' + l.reasons.join('; '));
    return parts.join(', ');
  }

  function svgRoot(w, hgt, ls) {
    const st = S.status;
    const desc = 'Site diagram: on-premises edge, ' + ls.length + ' Direct Connect links (' +
      ls.map((l) => l.name + ' ' + stateWord(l.state) + (l.active ? ' active' : '')).join(', ') +
      '), the Direct Connect gateway and the VPC targets. Traffic on ' + (st.active_known ? names(st.active) : 'an unknown link') + '.';
    return s('svg', { viewBox: '0 0 ' + w + ' ' + hgt, class: 'site', role: 'group', 'aria-label': desc, preserveAspectRatio: 'xMidYMin meet' },
      s('title', { text: desc }));
  }

  function part(label, cls, ...kids) {
    return s('g', { role: 'img', 'aria-label': label, class: cls }, s('title', { text: label }), kids);
  }

  function boxPart(x, y, w, hgt, title, lines, label, cls) {
    return part(label, 'node ' + (cls || ''),
      s('rect', { x: x, y: y, width: w, height: hgt, rx: 10 }),
      s('text', { x: x + w / 2, y: y + 24, class: 'node-title', 'text-anchor': 'middle', text: title }),
      lines.map((t, i) => s('text', { x: x + w / 2, y: y + 44 + i * 17, 'text-anchor': 'middle', class: 'node-sub', text: t })));
  }

  function edgePart(x, y, w, hgt) {
    const feeds = (S.status.bgp_feeds || []);
    const lines = [S.status.site || ''];
    if (feeds.length) lines.push('BGP feed ' + feeds.filter((f) => f.ok && f.fresh).length + '/' + feeds.length + ' up');
    return boxPart(x, y, w, hgt, 'On-prem edge', lines, 'On-premises edge router' + (feeds.length ? ', ' + lines[1] : ''), 'edge');
  }

  function gatewayPart(x, y, w, hgt) {
    const asn = S.site && S.site.amazon_asn ? 'ASN ' + S.site.amazon_asn : '';
    return boxPart(x, y, w, hgt, 'DX gateway', asn ? [asn] : [], 'Direct Connect gateway' + (asn ? ', Amazon ' + asn : ''), 'gateway');
  }

  // vpcGroups groups the targets by VPC.
  function vpcGroups() {
    const groups = new Map();
    for (const t of targets()) {
      const v = (t.cfg && t.cfg.vpc_id) || 'VPC';
      if (!groups.has(v)) groups.set(v, []);
      groups.get(v).push(t);
    }
    if (groups.size === 0) groups.set('VPC', []);
    return groups;
  }
  function targetOK(t) {
    const e = t.echo;
    if (!e || !e.fresh) return 'unknown';
    return e.down || e.consecutive_lost > 0 ? 'down' : 'up';
  }
  function vpcHeight(n) { return 40 + Math.max(n, 1) * 40; }

  function vpcPart(x, y, w, vpc, ts) {
    const hgt = vpcHeight(ts.length);
    const g = part('VPC ' + vpc + ' with ' + ts.length + ' target' + (ts.length === 1 ? '' : 's'), 'node vpc',
      s('rect', { x: x, y: y, width: w, height: hgt, rx: 10 }),
      s('text', { x: x + 12, y: y + 24, class: 'node-title vpc-title', text: vpc }));
    const parts = ts.map((t, i) => {
      const ok = targetOK(t);
      const ty = y + 48 + i * 40;
      const via = t.active && t.active.length ? 'via ' + t.active.join('+') : (t.source === '' ? 'path unknown' : 'no path');
      const label = 'Target ' + t.name + ' ' + (t.host || '') + ', ' + (ok === 'up' ? 'answering' : ok === 'down' ? 'not answering' : 'no fresh echo') + ', ' + via;
      return part(label, 'target ' + ok,
        s('circle', { cx: x + 20, cy: ty, r: 7, class: 'dot ' + ok }),
        s('text', { x: x + 34, y: ty + 5, class: 'target-name', text: t.name }),
        s('text', { x: x + 34, y: ty + 22, class: 'node-sub', text: (t.host ? t.host + ' · ' : '') + via }));
    });
    g.setAttribute('role', 'group');
    append(g, parts);
    return g;
  }

  function linkStroke(l, d) {
    const cls = 'link-line ' + stateWord(l.state) + (l.active ? ' active' : '');
    return [
      l.active ? s('path', { d: d, class: 'link-halo' }) : null,
      s('path', { d: d, class: cls }),
      l.active ? s('path', { d: d, class: 'link-flow' }) : null,
    ];
  }

  function diagramWide() {
    const ls = links();
    const groups = vpcGroups();
    const W = 1000, top = 20, gap = 120;
    const linksH = Math.max(ls.length, 1) * gap;
    let vpcH = 0;
    for (const ts of groups.values()) vpcH += vpcHeight(ts.length) + 16;
    const H = top * 2 + Math.max(linksH, vpcH, 130);
    const cy = H / 2;
    const svg = svgRoot(W, H, ls);
    const ex = 10, ew = 160, gx = 610, gw = 130, vx = 775, vw = 215;
    // links
    ls.forEach((l, i) => {
      const y = top + gap / 2 + i * gap + (H - 2 * top - linksH) / 2;
      const c = l.cfg || {};
      const d = 'M' + (ex + ew) + ',' + cy + ' C' + (ex + ew + 40) + ',' + cy + ' ' + 190 + ',' + y + ' ' + 230 + ',' + y +
        ' L' + 550 + ',' + y + ' C' + 590 + ',' + y + ' ' + (gx - 40) + ',' + cy + ' ' + gx + ',' + cy;
      const head = l.name + ' · ' + stateWord(l.state).toUpperCase() + (l.active ? ' · ACTIVE' : '');
      const ids = [c.connection_id, c.vif_id, c.vlan ? 'VLAN ' + c.vlan : ''].filter(Boolean).join(' · ');
      svg.appendChild(part(linkLabel(l), 'link ' + stateWord(l.state) + (l.active ? ' active' : ''),
        linkStroke(l, d),
        s('text', { x: 390, y: y - 14, 'text-anchor': 'middle', class: 'link-name ' + stateWord(l.state), text: head }),
        s('text', { x: 390, y: y + 24, 'text-anchor': 'middle', class: 'node-sub', text: ids }),
        c.customer_address ? s('text', { x: 232, y: y + 42, class: 'addr', text: c.customer_address }) : null,
        c.amazon_address ? s('text', { x: 548, y: y + 42, 'text-anchor': 'end', class: 'addr', text: c.amazon_address }) : null));
      svg.lastChild.setAttribute('data-link', l.name);
      svg.lastChild.setAttribute('data-state', stateWord(l.state));
      svg.lastChild.setAttribute('data-active', l.active ? 'true' : 'false');
    });
    // gateway to VPCs
    let vy = (H - vpcH + 16) / 2;
    const anyActive = ls.some((l) => l.active);
    for (const [vpc, ts] of groups) {
      const vh = vpcHeight(ts.length);
      svg.appendChild(s('path', { d: 'M' + (gx + gw) + ',' + cy + ' C' + (gx + gw + 25) + ',' + cy + ' ' + (vx - 25) + ',' + (vy + vh / 2) + ' ' + vx + ',' + (vy + vh / 2), class: 'link-line vpc-line' + (anyActive ? ' carrying' : '') }));
      svg.appendChild(vpcPart(vx, vy, vw, vpc, ts));
      vy += vh + 16;
    }
    svg.appendChild(edgePart(ex, cy - 45, ew, 90));
    svg.appendChild(gatewayPart(gx, cy - 35, gw, 70));
    return svg;
  }

  function diagramNarrow() {
    const ls = links();
    const groups = vpcGroups();
    const W = 400, n = Math.max(ls.length, 1);
    const edgeY = 8, edgeH = 76, linkTop = 100, linkBot = 330, gwY = 360, gwH = 56;
    let vpcH = 0;
    for (const ts of groups.values()) vpcH += vpcHeight(ts.length) + 14;
    const H = gwY + gwH + 30 + vpcH;
    const svg = svgRoot(W, H, ls);
    ls.forEach((l, i) => {
      const x = W * (i + 0.5) / n;
      const c = l.cfg || {};
      const d = 'M200,' + (edgeY + edgeH) + ' C200,' + (linkTop - 10) + ' ' + x + ',' + (edgeY + edgeH + 10) + ' ' + x + ',' + linkTop +
        ' L' + x + ',' + linkBot + ' C' + x + ',' + (gwY - 10) + ' 200,' + (linkBot + 10) + ' 200,' + gwY;
      const lines = [
        [l.name, 'link-name ' + stateWord(l.state)],
        [stateWord(l.state).toUpperCase() + (l.active ? ' · ACTIVE' : ''), 'link-state ' + stateWord(l.state)],
        [c.connection_id, 'node-sub'], [c.vif_id, 'node-sub'], [c.vlan ? 'VLAN ' + c.vlan : '', 'node-sub'],
        [c.customer_address ? 'cust ' + c.customer_address : '', 'addr'], [c.amazon_address ? 'aws ' + c.amazon_address : '', 'addr'],
      ].filter((x) => x[0]);
      const blockH = lines.length * 17 + 10;
      const by = (linkTop + linkBot) / 2 - blockH / 2;
      svg.appendChild(part(linkLabel(l), 'link ' + stateWord(l.state) + (l.active ? ' active' : ''),
        linkStroke(l, d),
        s('rect', { x: x - W / n / 2 + 6, y: by, width: W / n - 12, height: blockH, rx: 6, class: 'label-bg' }),
        lines.map((t, j) => s('text', { x: x, y: by + 18 + j * 17, 'text-anchor': 'middle', class: t[1], text: t[0] }))));
      svg.lastChild.setAttribute('data-link', l.name);
      svg.lastChild.setAttribute('data-state', stateWord(l.state));
      svg.lastChild.setAttribute('data-active', l.active ? 'true' : 'false');
    });
    let vy = gwY + gwH + 30;
    const anyActive = ls.some((l) => l.active);
    for (const [vpc, ts] of groups) {
      const vh = vpcHeight(ts.length);
      svg.appendChild(s('path', { d: 'M200,' + (gwY + gwH) + ' L200,' + vy, class: 'link-line vpc-line' + (anyActive ? ' carrying' : '') }));
      svg.appendChild(vpcPart(20, vy, 360, vpc, ts));
      vy += vh + 14;
    }
    svg.appendChild(edgePart(100, edgeY, 200, edgeH));
    svg.appendChild(gatewayPart(120, gwY, 160, gwH));
    return svg;
  }

  // ---- sparklines --------------------------------------------------------

  function sparkline(key, field, what, fmt) {
    const r = S.hist.get(key) || [];
    const W = 140, H = 32;
    const vals = r.map((x) => x[field]);
    const last = vals.length ? vals[vals.length - 1] : null;
    const max = Math.max.apply(null, vals.concat([field === 'loss' ? 0.05 : 0.001]));
    const min = vals.length ? Math.min.apply(null, vals) : 0;
    const label = what + ' over the last ' + vals.length + ' seconds: now ' + (last === null ? 'no data' : fmt(last)) +
      (vals.length ? ', min ' + fmt(min) + ', max ' + fmt(Math.max.apply(null, vals)) : '');
    const svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'spark ' + field, role: 'img', 'aria-label': label, width: W, height: H },
      s('title', { text: label }));
    const span = Math.max(vals.length, 30) - 1; // few samples are not squeezed into one corner
    const x = (i) => W - (vals.length - 1 - i) * (W / span);
    const y = (v) => H - 2 - (v / max) * (H - 4);
    if (field === 'loss') {
      r.forEach((p, i) => {
        if (p.loss > 0 || !p.ok) {
          const bh = Math.max(2, (p.loss / max) * (H - 4));
          svg.appendChild(s('rect', { x: x(i) - 1, y: H - 2 - bh, width: 2, height: bh, class: p.ok ? 'loss-bar' : 'loss-bar bad' }));
        }
      });
      svg.appendChild(s('line', { x1: 0, y1: H - 1, x2: W, y2: H - 1, class: 'baseline' }));
    } else if (vals.length) {
      const pts = vals.map((v, i) => x(i).toFixed(1) + ',' + y(v).toFixed(1)).join(' ');
      svg.appendChild(s('polyline', { points: pts, class: 'rtt-line' }));
      svg.appendChild(s('circle', { cx: x(vals.length - 1), cy: y(last), r: 2.5, class: 'rtt-dot' }));
    }
    return h('figure', { class: 'sparkfig' }, svg, h('figcaption', null, what + ' ', h('strong', { text: last === null ? '–' : fmt(last) })));
  }

  function echoBlock(key, e, title) {
    return h('div', { class: 'echo' },
      h('div', { class: 'echo-title' }, title, ' ', e ? h('span', { class: 'muted', text: e.fresh ? (e.down ? 'down' : e.consecutive_lost ? e.consecutive_lost + ' lost in a row' : 'answering') : 'no fresh result' }) : null),
      h('div', { class: 'sparks' }, sparkline(key, 'rtt', 'mean RTT', ms), sparkline(key, 'loss', 'loss', pct)));
  }

  // ---- link and target cards ---------------------------------------------

  function badge(text, cls) { return h('span', { class: 'badge ' + cls, text: text }); }

  // dxSession names a link's Direct Connect session as the health model's
  // reasons do: the edge router that reports it over BMP, and AWS's end.
  function dxSession(router, cfg, family) {
    const amz = family === 'ipv6' && cfg.ipv6 ? cfg.ipv6.amazon_address : cfg.amazon_address;
    return router + ' ↔ AWS' + (amz ? ' ' + amz : '') + ', seen by BMP';
  }

  // familyWord is an address family as an engineer writes it.
  function familyWord(f) { return f === 'ipv6' ? 'IPv6' : f === 'ipv4' ? 'IPv4' : f; }

  // peeringsBlock shows each peering of a dual-stack link, judged on its
  // family's evidence alone: its state, whether that family's traffic
  // crosses it, and why it is not up.
  function peeringsBlock(l) {
    const ps = l.peerings || [];
    if (!ps.length) return null;
    return h('div', { class: 'peerings' }, h('h4', { text: 'Peerings' }),
      h('ul', { class: 'plain' }, ps.map((p) => h('li', { 'data-family': p.family, 'data-state': stateWord(p.state) },
        familyWord(p.family), ' ', badge(stateWord(p.state), stateWord(p.state)), p.active ? [' ', badge('active', 'active')] : null,
        p.reasons && p.reasons.length ? h('div', { class: 'muted small', text: p.reasons.join('; ') }) : null))));
  }

  function renderLinks() {
    const box = $('links');
    const expected = (S.site && S.site.expected_prefixes) || [];
    box.replaceChildren(...links().map((l) => {
      const c = l.cfg || {};
      const ev = l.evidence || [];
      const prefixes = ev.filter((e) => e.source === 'bgp_prefix');
      const sessions = ev.filter((e) => e.source === 'bgp_session');
      const aws = ev.filter((e) => e.source === 'aws');
      // An expected prefix is "not seen" only where a BGP feed could have seen it.
      const bgpFed = sessions.length > 0 || ((S.status && S.status.bgp_feeds) || []).length > 0;
      const missing = bgpFed ? expected.filter((p) => !prefixes.some((e) => e.name === p)) : [];
      const v6 = c.ipv6 || {};
      const dl = [['Connection', c.connection_id], ['Virtual interface', c.vif_id], ['VLAN', c.vlan],
        ['Customer peer', c.customer_address], ['Amazon peer', c.amazon_address],
        ['Customer peer (IPv6)', v6.customer_address], ['Amazon peer (IPv6)', v6.amazon_address]].filter((x) => x[1]);
      return h('article', { class: 'card link-card ' + stateWord(l.state) + (l.active ? ' active' : ''), 'data-link': l.name, 'data-state': stateWord(l.state), 'data-active': l.active ? 'true' : 'false', 'aria-label': linkLabel(l) },
        h('h3', null, l.name, ' ', badge(stateWord(l.state), stateWord(l.state)), l.active ? badge('active', 'active') : null),
        h('p', { class: 'muted' }, (l.role || c.role || 'link') + (l.since ? ' · ' + stateWord(l.state) + ' since ' + clock(l.since) + (ago(l.since) ? ' (' + ago(l.since) + ')' : '') : '')),
        dl.length ? h('dl', { class: 'kv' }, dl.map((x) => [h('dt', { text: x[0] }), h('dd', { text: String(x[1]) })])) : null,
        l.reasons && l.reasons.length ? h('ul', { class: 'reasons' }, l.reasons.map((r) => h('li', { text: r }))) :
          h('p', { class: 'reasons-none muted', text: l.state === 'up' ? 'Every fresh piece of evidence is good.' : '' }),
        peeringsBlock(l),
        prefixes.length || missing.length ? h('div', null, h('h4', { text: 'Prefixes received' }),
          h('ul', { class: 'plain' }, prefixes.map((e) => h('li', { class: e.ok ? 'ok' : 'bad' }, h('code', { text: e.name }), ' ', e.ok ? 'present' : 'withdrawn', e.fresh ? '' : ' (stale)')),
            missing.map((p) => h('li', { class: 'muted' }, h('code', { text: p }), ' not seen')))) : null,
        sessions.length ? h('div', null, h('h4', { text: 'BGP' }),
          h('ul', { class: 'plain' }, sessions.map((e) => h('li', { class: e.ok ? 'ok' : 'bad', text: dxSession(e.name, c, e.family) + ': ' + (e.ok ? 'up' : 'down') + (e.detail ? ' (' + e.detail + ')' : '') })))) : null,
        aws.length ? h('div', null, h('h4', { text: 'AWS' }),
          h('ul', { class: 'plain' }, aws.map((e) => h('li', { class: e.ok ? 'ok' : 'bad' }, e.name, ' ', e.ok ? 'ok' : 'failing', e.detail ? ': ' + e.detail : '')))) : null,
        (l.echo || []).map((e) => echoBlock('link:' + l.name + ':' + e.target, e, 'Echo to ' + e.target)));
    }));
  }

  function renderTargets() {
    const box = $('targets');
    const ts = targets();
    if (!ts.length) {
      box.replaceChildren(h('p', { class: 'muted', text: 'No VPC targets configured: add targets (instances in each VPC) to measure outages end to end.' }));
      return;
    }
    box.replaceChildren(...ts.map((t) => {
      const ok = targetOK(t);
      const via = t.active && t.active.length ? names(t.active) : (t.source === '' ? 'unknown' : 'no link');
      return h('article', { class: 'card target-card ' + ok, 'data-target': t.name, 'aria-label': 'Target ' + t.name + ', ' + ok + ', via ' + via },
        h('h3', null, t.name, ' ', badge(ok === 'up' ? 'answering' : ok === 'down' ? 'not answering' : 'no data', ok)),
        h('dl', { class: 'kv' },
          h('dt', { text: 'Address' }), h('dd', { text: t.host || '–' }),
          t.cfg && t.cfg.vpc_id ? [h('dt', { text: 'VPC' }), h('dd', { text: t.cfg.vpc_id })] : null,
          h('dt', { text: 'Via' }), h('dd', { text: via + (t.source ? ' (' + t.source + ')' : '') }),
          t.prefix ? [h('dt', { text: 'Prefix' }), h('dd', { text: t.prefix })] : null,
          t.echo && t.echo.last_reply ? [h('dt', { text: 'Last reply' }), h('dd', { text: clock(t.echo.last_reply, true) })] : null),
        echoBlock('target:' + t.name, t.echo, 'Echo'));
    }));
  }

  // ---- edge routers (BMP, api/routes) -------------------------------------

  // The RIBs a router can export over BMP, as /api/routes names them.
  const VIEWS = [['adj_rib_in_pre', 'Adj-RIB-In pre-policy'], ['adj_rib_in_post', 'Adj-RIB-In post-policy'],
    ['loc_rib', 'Loc-RIB (its chosen paths)'], ['adj_rib_out_pre', 'Adj-RIB-Out pre-policy'], ['adj_rib_out_post', 'Adj-RIB-Out post-policy (what it sends)']];

  function asPath(p) { return p && p.length ? p.join(' ') : '(empty)'; }
  function comms(cs) { return cs && cs.length ? cs.map((c) => c.value + (c.name ? ' (' + c.name + ')' : '')).join(', ') : '–'; }
  function table(cls, head, rows) {
    return h('div', { class: 'scroll' }, h('table', { class: 'outages ' + cls }, h('thead', null, h('tr', null, head.map((x) => h('th', { text: x })))), h('tbody', null, rows)));
  }

  // renderRouters shows, per BMP router, which RIBs it exports; from its
  // Loc-RIB the path it chose for each expected prefix; from its
  // Adj-RIB-Out post-policy what it really advertises to AWS over each link.
  function renderRouters() {
    const rs = (S.routes && S.routes.bmp_routers) || [];
    $('routers-card').hidden = !rs.length;
    if (!rs.length) return;
    const expected = (S.routes.expected_prefixes || []).map((p) => p.prefix);
    $('routers').replaceChildren(...rs.map((r) => {
      const views = new Set(r.views || []);
      const name = r.sys_name && r.sys_name !== r.name ? r.name + ' (' + r.sys_name + ')' : r.name;
      let chosen;
      if (views.has('loc_rib')) {
        const lr = r.loc_rib || [];
        chosen = h('div', { class: 'loc-rib' }, h('h4', { text: 'Chosen by the router (Loc-RIB)' }),
          table('loc-rib', ['Prefix', 'Link', 'Next hop', 'AS path', 'Communities'], expected.map((p) => {
            const x = lr.find((e) => e.prefix === p);
            return x ? h('tr', { 'data-prefix': p, 'data-link': x.link || '' }, h('td', null, h('code', { text: p })), h('td', { text: x.link || 'no link' }),
              h('td', { text: x.next_hop || '–' }), h('td', { text: asPath(x.as_path) }), h('td', { text: comms(x.communities) }))
              : h('tr', { 'data-prefix': p, 'data-link': '', class: 'bad' }, h('td', null, h('code', { text: p })), h('td', { colspan: 4, text: 'not in the router\'s Loc-RIB: it has no path' }));
          })));
      } else {
        chosen = h('p', { class: 'muted no-loc-rib', text: 'Exports no Loc-RIB: dxwatch infers the path it chooses from the paths it receives.' });
      }
      let sent;
      if (views.has('adj_rib_out_post')) {
        const rows = [];
        for (const bp of (r.monitored_peers || []).filter((x) => x.link)) {
          const adv = bp.advertised || [];
          if (!adv.length) rows.push(h('tr', { 'data-link': bp.link, 'data-prefix': '', class: 'bad' }, h('td', { text: bp.link }), h('td', { colspan: 3, text: bp.up ? 'advertises nothing to AWS' : 'session with AWS down' })));
          for (const a of adv) {
            rows.push(h('tr', { 'data-link': bp.link, 'data-prefix': a.prefix }, h('td', { text: bp.link }), h('td', null, h('code', { text: a.prefix })),
              h('td', { text: asPath(a.as_path) + (a.prepends ? ' (' + a.prepends + ' prepend' + (a.prepends > 1 ? 's' : '') + ')' : '') }), h('td', { text: comms(a.communities) })));
          }
        }
        sent = h('div', { class: 'adj-rib-out' }, h('h4', { text: 'Advertised to AWS (Adj-RIB-Out post-policy)' }),
          rows.length ? table('adj-rib-out', ['Link', 'Prefix', 'AS path', 'Communities'], rows) : h('p', { class: 'muted', text: 'No Direct Connect session monitored.' }));
      } else {
        sent = h('p', { class: 'muted no-adj-rib-out', text: 'Exports no Adj-RIB-Out post-policy: what it advertises to AWS is read from AWS\'s side only.' });
      }
      return h('article', { class: 'card router-card', 'data-router': r.name, 'aria-label': 'Edge router ' + name },
        h('h3', { text: name }),
        h('p', { class: 'muted', text: r.address + (r.connected_since ? ' · BMP since ' + clock(r.connected_since) : '') }),
        h('h4', { text: 'Exports over BMP' }),
        h('ul', { class: 'plain views' }, VIEWS.map((v) => h('li', { 'data-view': v[0], 'data-exported': views.has(v[0]) ? 'true' : 'false', class: views.has(v[0]) ? 'ok' : 'muted' },
          (views.has(v[0]) ? '✓ ' : '✗ ') + v[1]))),
        chosen, sent);
    }));
  }

  // ---- events ------------------------------------------------------------

  function detailsKept(key, summary, ...kids) {
    const d = h('details', { 'data-key': key, open: S.open.has(key) }, h('summary', null, summary), kids);
    d.addEventListener('toggle', () => { if (d.open) S.open.add(key); else S.open.delete(key); });
    return d;
  }

  function eventItem(e) {
    if (e.kind === 'link_state') {
      return h('li', { class: 'event link_state ' + stateWord(e.state), 'data-event-id': e.id, 'data-kind': e.kind },
        h('time', { datetime: e.time, text: clock(e.time, true) }), ' ',
        h('span', null, 'link ', h('strong', { text: e.link }), ' ' + stateWord(e.previous) + ' → ', badge(stateWord(e.state), stateWord(e.state))),
        e.reasons && e.reasons.length ? h('div', { class: 'muted small', text: e.reasons.join('; ') }) : null);
    }
    const title = e.kind === 'outage' ? 'Outage on ' + names(e.from) :
      (e.direction === 'failback' ? 'Failback ' : e.direction === 'failover' ? 'Failover ' : 'Change ') + names(e.from) + ' → ' + names(e.to);
    const lost = e.targets && e.targets.length;
    const figure = !e.measured ? 'not measured' : lost ? 'outage ' + dur(e.outage_seconds) : 'hitless: no echo lost';
    return h('li', { class: 'event ' + e.kind + ' ' + (e.direction || ''), 'data-event-id': e.id, 'data-kind': e.kind, 'data-from': (e.from || []).join(','), 'data-to': (e.to || []).join(',') },
      h('div', { class: 'ev-head' },
        h('time', { datetime: e.time, text: clock(e.time, true) }), ' ',
        h('strong', { text: title }), ' ',
        badge(figure, e.measured ? (e.outage_seconds > 0 ? 'warn' : 'up') : 'unknown'),
        e.complete ? null : badge('incomplete', 'down')),
      e.cause ? h('p', { class: 'cause', text: e.cause }) : null,
      e.measured && lost ? h('p', { class: 'muted small', text: 'gap between replies ' + dur(e.gap_seconds) + (e.restored ? ' · restored ' + clock(e.restored, true) : '') }) : null,
      e.targets && e.targets.length ? h('table', { class: 'outages' },
        h('thead', null, h('tr', null, ['target', 'outage', 'gap', 'lost', 'back'].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', null, e.targets.map((t) => h('tr', null,
          h('td', { text: t.target }), h('td', { text: dur(t.outage_seconds) }), h('td', { text: dur(t.gap_seconds) }),
          h('td', { text: t.lost }), h('td', { text: t.restored ? clock(t.first_reply, true) : 'no' }))))) : null,
      e.timeline && e.timeline.length ? detailsKept('ev' + e.id, 'Timeline (' + e.timeline.length + ' steps)',
        h('ol', { class: 'steps' }, e.timeline.map((st) => h('li', null,
          h('time', { datetime: st.time, text: clock(st.time, true) }), ' ',
          h('code', { text: st.what }), ' ', st.link ? st.link + ': ' : '', st.target ? st.target + ': ' : '', st.detail || '')))) : null);
  }

  function renderEvents() {
    const box = $('events');
    const evs = S.events.slice(-EVENTS_SHOWN).reverse();
    if (!evs.length) {
      box.replaceChildren(h('li', { class: 'muted none', text: 'No event yet: failovers, outages and link state changes appear here as they happen.' }));
      return;
    }
    box.replaceChildren(...evs.map(eventItem));
  }

  // ---- the month so far (api/report) -------------------------------------

  function renderMonth() {
    const r = S.report;
    $('month-card').hidden = !r;
    if (!r) return;
    const s = r.site_availability;
    // Rounded down, as the report: never more availability than there was.
    const avail = (t) => (t.availability_percent === null || t.availability_percent === undefined ? 'not known' : (Math.floor(t.availability_percent * 1e4) / 1e4).toFixed(4).replace(/\.?0+$/, '') + ' %');
    const met = s.target_met === undefined || s.target_met === null ? 'unknown' : s.target_met ? 'up' : 'down';
    const excluded = s.drill_seconds + s.maintenance_seconds + s.not_observed_seconds;
    $('month').replaceChildren(
      h('p', {},
        badge(met === 'up' ? 'on target' : met === 'down' ? 'below target' : 'no data', met), ' ',
        h('strong', { text: 'Site ' + avail(s) }), ' against a target of ' + r.target_percent + ' % · down ' + dur(s.down_seconds) +
          ' in ' + s.incidents + ' incident' + (s.incidents === 1 ? '' : 's') + ' · allowed ' + dur(s.downtime_allowed_seconds)),
      h('p', { class: 'muted', text: 'Since ' + r.from.slice(0, 10) + ' (UTC); excluded ' + dur(excluded) + ': drills ' + dur(s.drill_seconds) +
        ', maintenance ' + dur(s.maintenance_seconds) + ', not observed ' + dur(s.not_observed_seconds) + '.' }),
      h('ul', { class: 'checks' }, r.links.flatMap((l) => [h('li', { 'data-link': l.name },
        h('strong', { text: l.name }), ' ' + avail(l) + ' · down ' + dur(l.down_seconds) + ' in ' + l.incidents + ' · not observed ' + dur(l.not_observed_seconds))]
        // A dual-stack link's peerings, each judged on its own, under it.
        .concat((r.peerings || []).filter((p) => p.link === l.name).map((p) => h('li', { class: 'peering', 'data-peering': p.name, 'data-family': p.family },
          l.name + ' ', h('strong', { text: familyWord(p.family) }), ' ' + avail(p) + ' · down ' + dur(p.down_seconds) + ' in ' + p.incidents +
          ' · not observed ' + dur(p.not_observed_seconds)))))),
      h('p', {}, h('a', { href: 'api/report?format=markdown', text: 'The month on record (Markdown)' }), ' · ',
        h('a', { href: 'api/report?format=csv', text: 'incidents (CSV)' })));
  }

  // ---- failover capacity -------------------------------------------------

  // The capacity.failover.<from>.<to> checks of the AWS probe, one row per
  // direction: "egress p95 816 Mbps (163%), max 842 Mbps (168%)".
  function renderCapacity() {
    const cs = (S.checks || []).filter((c) => c.name.startsWith('capacity.failover.'));
    $('capacity-card').hidden = !cs.length;
    if (!cs.length) return;
    $('capacity').replaceChildren(h('ul', { class: 'checks' }, cs.map((c) => {
      const [from, to] = c.name.slice('capacity.failover.'.length).split('.');
      const head = c.reason.split(': ')[0];
      const dirs = [...c.reason.matchAll(/(egress|ingress) (p95 [^;[]+)/g)];
      return h('li', { class: 'check ' + c.status, 'data-check': c.name, 'data-from': from, 'data-to': to },
        badge(c.status, c.status === 'pass' ? 'up' : c.status === 'warn' ? 'degraded' : c.status === 'fail' ? 'down' : 'unknown'), ' ',
        h('strong', { text: from + ' → ' + to }), ' ', h('span', { class: 'muted', text: dirs.length ? head : c.reason }),
        dirs.length ? h('ul', {}, dirs.map((m) => h('li', { 'data-direction': m[1] }, h('code', { text: m[1] }), ' ' + m[2].trim()))) : null,
        c.fix && c.status !== 'pass' && c.status !== 'skip' ? h('div', { class: 'fix' }, h('strong', { text: 'Fix: ' }), c.fix) : null);
    })));
  }

  // ---- checks ------------------------------------------------------------

  function renderChecks() {
    const box = $('checks');
    const cs = S.checks || (S.status && S.status.checks) || [];
    if (!cs.length) {
      box.replaceChildren(h('p', { class: 'muted', text: 'No check has run yet.' }));
      return;
    }
    const count = (st) => cs.filter((c) => c.status === st).length;
    box.replaceChildren(
      h('p', { class: 'muted', text: count('pass') + ' pass, ' + count('warn') + ' warn, ' + count('fail') + ' fail, ' + count('skip') + ' skipped' + (S.checks ? '' : ' (health checks only: this agent does not serve api/checks)') }),
      h('ul', { class: 'checks' }, cs.map((c) => h('li', { class: 'check ' + c.status, 'data-check': c.name },
        badge(c.status, c.status === 'pass' ? 'up' : c.status === 'warn' ? 'degraded' : c.status === 'fail' ? 'down' : 'unknown'), ' ',
        h('code', { text: c.name }), ' ', h('span', { text: c.reason }),
        c.because ? h('div', { class: 'fix' }, 'Follows from ', h('code', { text: c.because }), ': fix that first.')
          : c.fix && c.status !== 'pass' ? h('div', { class: 'fix' }, h('strong', { text: 'Fix: ' }), c.fix) : null))));
  }

  // ---- start -------------------------------------------------------------

  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (S.status) renderDiagram(); }, 150);
  });
  tick();
})();
