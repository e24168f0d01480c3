// The inspectors' field app: sign-in, sync, the day's plan, minutes and the
// outbox. Everything the inspector does is saved on the phone first
// (IndexedDB); the outbox posts in the background and retries with back-off.

import { fold, distanceM, validateMinutes, newId, sha256Hex, backoffMs, rfc3339, showTime, showDate, OUTCOMES, SANCTIONS } from './rules.js';
import * as store from './store.js';

const API = '/api/v1';
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const view = () => $('#view');
const vnd = n => n == null ? '' : Number(n).toLocaleString('vi-VN');

const OUTCOME_VI = {
  no_violation: 'Không vi phạm', violations_found: 'Có vi phạm', closed: 'Cơ sở đóng cửa',
  refused_entry: 'Không cho kiểm tra', not_found: 'Không tìm thấy cơ sở',
};
const SANCTION_VI = { warning: 'Cảnh cáo', fine: 'Phạt tiền', suspension: 'Đình chỉ', referral: 'Chuyển công an' };
const STATUS_VI = { pending: 'Chưa lên lịch', scheduled: 'Đã lên lịch', completed: 'Đã kiểm tra', cancelled: 'Đã hủy' };
const STATE_VI = {
  draft: 'Nháp', queued: 'Chờ gửi', sent: 'Đã gửi', conflict: 'Xung đột — không gửi được',
  rejected: 'Bị máy chủ từ chối', returned: 'Bị trả lại', accepted: 'Đã duyệt',
};
const CHECKLIST = [
  ['licence', 'Giấy phép kinh doanh'], ['guest_register', 'Sổ đăng ký khách'],
  ['labour_contracts', 'Hợp đồng lao động'], ['room_lighting_doors', 'Ánh sáng, cửa phòng'],
];
const TYPE_VI = {
  karaoke: 'Karaoke', dance_hall: 'Vũ trường', bar: 'Quán bar', massage: 'Xoa bóp', sauna: 'Tắm hơi',
  spa: 'Spa', hotel: 'Khách sạn', guest_house: 'Nhà nghỉ', motel: 'Nhà trọ', rental_apartment: 'Căn hộ cho thuê',
  restaurant: 'Nhà hàng', hair_salon: 'Cắt tóc – gội đầu', cafe: 'Cà phê', other: 'Khác',
};

// ---------------------------------------------------------------- session

let session = null; // {access_token, refresh_token, expires_at, user}
let refreshing = null;

class Offline extends Error {}
class SignedOut extends Error {}

async function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      let r;
      try {
        r = await fetch(API + '/auth/refresh', {
          method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ refresh_token: session.refresh_token }),
        });
      } catch (e) { throw new Offline('offline'); }
      if (r.status === 401) { await expired(); throw new SignedOut('session ended'); }
      if (!r.ok) throw new Offline('refresh ' + r.status);
      await keepSession(await r.json());
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function keepSession(t) {
  session = {
    access_token: t.access_token, refresh_token: t.refresh_token,
    expires_at: Date.now() + (t.expires_in - 30) * 1000, user: t.user || session.user,
  };
  await store.kv.set('session', session);
}

/** The session ended on the server (refresh family revoked): sign in again, keep the data. */
async function expired() {
  session = null;
  await store.kv.set('session', null);
  showLogin('Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại (dữ liệu chưa gửi vẫn được giữ).');
}

/**
 * A call to the API with the access token, refreshed when it is about to
 * expire or refused (a refresh retried within the server's grace window gets
 * the same successor, so a lost answer costs nothing). Network failures
 * throw Offline.
 */
async function api(method, path, { body, headers = {}, raw } = {}) {
  if (!session) throw new SignedOut('signed out');
  if (Date.now() > session.expires_at) await refresh();
  const send = () => {
    const h = { Authorization: 'Bearer ' + session.access_token, ...headers };
    let b = body;
    if (body !== undefined && !raw) { h['Content-Type'] = 'application/json'; b = typeof body === 'string' ? body : JSON.stringify(body); }
    return fetch(API + path, { method, headers: h, body: b, cache: 'no-store' });
  };
  let r;
  try { r = await send(); } catch (e) { throw new Offline(String(e)); }
  if (r.status === 401) {
    await refresh();
    try { r = await send(); } catch (e) { throw new Offline(String(e)); }
  }
  let json = null;
  try { json = await r.json(); } catch (e) { json = null; }
  return { status: r.status, json };
}

// ---------------------------------------------------------------- state

const STATUS_ORDER = { scheduled: 0, pending: 1, completed: 2, cancelled: 3 };
const COLLATOR = new Intl.Collator('vi');
/** Items rendered at a time: the rest follow as the list is scrolled. */
const PAGE = 60;

const state = {
  assignments: [], team: null, catalogue: [], establishments: null, tab: 'plan', q: '', status: '', outbox: 0,
  // Until every assignment is read (`loaded`), the plan shows `head`, the
  // first page kept at the last change (see keepHead).
  loaded: false, head: null, headSig: null,
};

async function loadLocal() {
  // Read together (one wait for IndexedDB, not four in a row).
  const [team, catalogue, assignments] = await Promise.all([
    store.kv.get('team'), store.kv.get('catalogue'), store.all('assignments'), countOutbox(),
  ]);
  state.team = team;
  state.catalogue = catalogue || [];
  // Sorted once here (status, date, name); filtering keeps the order.
  state.assignments = assignments
    .map(a => { a._key = a._key || searchKey(a); a._date = String(a.scheduled_for || a.due_by); return a; })
    .sort((a, b) => (STATUS_ORDER[a.status] - STATUS_ORDER[b.status]) || (a._date < b._date ? -1 : a._date > b._date ? 1 : 0)
      || COLLATOR.compare(a.establishment.name, b.establishment.name));
  state.loaded = true;
  state.head = null;
  keepHead();
}

/**
 * The plan's first page as it stands (count and first PAGE items, unfiltered),
 * kept so that the next start draws it without reading and sorting every
 * assignment; written only when it changed.
 */
function keepHead() {
  const items = state.assignments.slice(0, PAGE).map(({ _key, _date, ...a }) => a);
  const sig = state.assignments.length + ':' + items.map(a => a.id + '/' + a.version + '/' + a.status + '/' + a.scheduled_for).join(',');
  if (sig === state.headSig) return;
  state.headSig = sig;
  store.kv.set('plan_head', { sig, total: state.assignments.length, items }).catch(() => {});
}

/** What the plan's search matches: name, address and licence, folded (kept with the assignment). */
function searchKey(a) {
  return fold(`${a.establishment.name} ${a.establishment.address} ${a.establishment.licence_no}`);
}

function isLeader() {
  return !!state.team?.members?.some(m => m.user_id === session?.user?.id && m.is_leader);
}

// ---------------------------------------------------------------- sync

let syncing = false;

async function syncNow() {
  if (syncing) return;
  syncing = true;
  setStatus('Đang đồng bộ…');
  try {
    const teamId = session.user.team_id;
    if (!teamId) throw new Error('no team');
    const team = await api('GET', `/teams/${teamId}`);
    if (team.status !== 200) throw new Error('team ' + team.status);
    const cat = await api('GET', '/violation-types');
    const since = await store.kv.get('sync_token');
    const items = [], reviews = [];
    let url = `/teams/${teamId}/assignments?limit=500` + (since ? `&since=${encodeURIComponent(since)}` : '');
    let token = since;
    for (;;) {
      const p = await api('GET', url);
      if (p.status === 422 && since) { await store.kv.set('sync_token', null); syncing = false; return syncNow(); }
      if (p.status !== 200) throw new Error('sync ' + p.status);
      items.push(...p.json.items);
      reviews.push(...(p.json.reviews || []));
      token = p.json.sync_token;
      if (!p.json.next_cursor) break;
      url = `/teams/${teamId}/assignments?limit=500&cursor=${encodeURIComponent(p.json.next_cursor)}` + (since ? `&since=${encodeURIComponent(since)}` : '');
    }
    // The jurisdiction's establishments, for surprise inspections: fetched
    // whole at the first sync and then twice a day.
    let ests = null;
    const estAt = await store.kv.get('establishments_at');
    if (!since || !estAt || Date.now() - estAt > 12 * 3600 * 1000) {
      ests = [];
      let eurl = `/establishments?org_unit=${encodeURIComponent(team.json.org_unit_code)}&status=active&limit=500`;
      for (;;) {
        const p = await api('GET', eurl);
        if (p.status !== 200) break;
        ests.push(...p.json.items);
        if (!p.json.next_cursor) break;
        eurl = `/establishments?org_unit=${encodeURIComponent(team.json.org_unit_code)}&status=active&limit=500&cursor=${encodeURIComponent(p.json.next_cursor)}`;
      }
    }
    // Minutes returned (or accepted) by a supervisor that this phone does
    // not hold: fetched so that a correction can start from them.
    const local = new Map((await store.all('minutes')).map(m => [m.id, m]));
    const fetched = {};
    for (const r of reviews) {
      if (!local.has(r.inspection_id) && r.status === 'returned') {
        const g = await api('GET', `/inspections/${r.inspection_id}`);
        if (g.status === 200) fetched[r.inspection_id] = g.json;
      }
    }
    await store.write(['kv', 'assignments', 'establishments', 'minutes'], s => {
      if (!since) s.assignments.clear();
      for (const a of items) {
        if (a.status === 'cancelled') s.assignments.delete(a.id); else { a._key = searchKey(a); s.assignments.put(a); }
      }
      if (ests) { s.establishments.clear(); for (const e of ests) s.establishments.put(e); s.kv.put(Date.now(), 'establishments_at'); }
      for (const r of reviews) {
        const m = local.get(r.inspection_id) || fromServer(fetched[r.inspection_id]);
        if (!m) continue;
        m.review = { status: r.status, comment: r.comment, reviewed_at: r.reviewed_at };
        m.version = Math.max(m.version || 1, r.version || 1);
        s.minutes.put(m);
      }
      s.kv.put(team.json, 'team');
      if (cat.status === 200) s.kv.put(cat.json.items, 'catalogue');
      s.kv.put(token, 'sync_token');
      s.kv.put(Date.now(), 'last_sync');
    });
    if (ests) state.establishments = null;
    await loadLocal();
    setStatus('');
    render();
  } catch (e) {
    if (e instanceof SignedOut) return;
    setStatus(e instanceof Offline ? 'Không có mạng — làm việc ngoại tuyến' : 'Đồng bộ lỗi: ' + e.message);
  } finally {
    syncing = false;
    drain();
  }
}

/** A minutes record made from the server's copy (a phone that did not write them). */
function fromServer(i) {
  if (!i) return null;
  const body = {
    id: i.id, assignment_id: i.assignment_id, establishment_id: i.establishment_id, team_id: i.team_id,
    started_at: i.started_at, finished_at: i.finished_at, location: i.location, members_present: i.members_present,
    outcome: i.outcome, notes: i.notes, checklist: i.checklist, violations: i.violations,
  };
  return { id: i.id, body, state: 'sent', photos: [], version: i.version, establishment_name: i.establishment_id, updated_at: Date.now() };
}

// ---------------------------------------------------------------- outbox

let draining = false;
let timer = null;

async function countOutbox() {
  state.outbox = await store.count('outbox');
  const n = state.outbox;
  document.body.dataset.outbox = String(n);
  const el = $('[data-outbox-count]');
  if (el) el.textContent = String(n);
  const badge = $('#outbox');
  if (badge) badge.classList.toggle('waiting', n > 0);
}

function wake(ms) {
  clearTimeout(timer);
  timer = setTimeout(drain, ms);
}

/**
 * Sends the outbox in order, one entry at a time, until it is empty or an
 * entry must wait (network down, server busy): that entry is retried after a
 * growing delay, or at once when the network comes back.
 */
async function drain() {
  if (draining || !session) return;
  draining = true;
  try {
    for (;;) {
      const entries = await store.all('outbox');
      if (!entries.length) break;
      const e = entries[0];
      if ((e.next_at || 0) > Date.now()) { wake(e.next_at - Date.now()); break; }
      let outcome;
      try {
        document.body.dataset.sending = e.kind;
        outcome = await sendEntry(e);
      } catch (err) {
        if (err instanceof SignedOut) break;
        e.last_error = String(err);
        outcome = 'retry';
      } finally {
        delete document.body.dataset.sending;
      }
      if (outcome === 'retry') {
        e.attempts = (e.attempts || 0) + 1;
        e.next_at = Date.now() + backoffMs(e.attempts);
        await store.write(['outbox'], s => s.outbox.put(e));
        wake(e.next_at - Date.now());
        break;
      }
      await countOutbox();
    }
  } finally {
    draining = false;
    await countOutbox();
    if (state.tab === 'minutes' && $('[data-view="home"]')) renderTab();
  }
}

const retryable = s => s === 408 || s === 429 || s >= 500 || s === 0;

/** Sends one outbox entry: 'done' (removed, whatever the answer) or 'retry'. */
async function sendEntry(e) {
  const m = e.minutes_id ? await store.get('minutes', e.minutes_id) : null;
  if (e.kind === 'minutes') {
    const r = await api('POST', '/inspections', { body: m.json });
    if (retryable(r.status)) return 'retry';
    if (r.status === 201 || r.status === 200) {
      m.state = 'sent';
      m.version = r.json.version;
      await finish(e, m);
    } else {
      // 409: these minutes' id already holds other content. Retrying can
      // never succeed: the inspector is told, and its photos stay unsent.
      m.state = r.status === 409 ? 'conflict' : 'rejected';
      m.error = problemText(r.json);
      await finish(e, m, true);
    }
    return 'done';
  }
  if (e.kind === 'photo') {
    const blob = await store.get('blobs', e.sha256);
    if (!blob) { await finish(e, m); return 'done'; }
    const r = await api('PUT', `/inspections/${e.minutes_id}/attachments/${e.sha256}`, {
      body: new Blob([blob.data], { type: blob.type }), headers: { 'Content-Type': blob.type }, raw: true,
    });
    if (retryable(r.status) || r.status === 404) return 'retry';
    const p = m.photos.find(x => x.sha256 === e.sha256);
    if (r.status === 201 || r.status === 200) { if (p) p.uploaded = true; }
    else if (p) p.error = problemText(r.json);
    await store.write(['outbox', 'minutes', 'blobs'], s => {
      s.outbox.delete(e.seq); s.minutes.put(m);
      if (r.status === 201 || r.status === 200) s.blobs.delete(e.sha256);
    });
    return 'done';
  }
  if (e.kind === 'correction') {
    const r = await api('POST', `/inspections/${e.minutes_id}/corrections`, { body: e.body, headers: { 'If-Match': String(e.base_version) } });
    if (retryable(r.status)) return 'retry';
    if (r.status === 201) {
      m.version = r.json.version; m.review = r.json.review; m.correction = null; m.state = 'sent';
    } else if (r.status === 412) {
      // Applied already (an answer lost on the way back), or someone else's.
      const g = await api('GET', `/inspections/${e.minutes_id}`);
      if (g.status === 200) { m.version = g.json.version; m.review = g.json.review; }
      m.correction = null; m.state = 'sent';
    } else {
      m.correction = { ...m.correction, error: problemText(r.json) };
    }
    await finish(e, m);
    return 'done';
  }
  if (e.kind === 'schedule') {
    const a = await store.get('assignments', e.assignment_id);
    const r = await api('PATCH', `/assignments/${e.assignment_id}`, { body: { scheduled_for: e.scheduled_for }, headers: { 'If-Match': String(e.version) } });
    if (retryable(r.status)) return 'retry';
    await store.write(['outbox', 'assignments'], s => {
      s.outbox.delete(e.seq);
      if (r.status === 200) { r.json._key = searchKey(r.json); s.assignments.put(r.json); }
      else if (a) { a._error = problemText(r.json); s.assignments.put(a); }
    });
    await loadLocal();
    return 'done';
  }
  await store.write(['outbox'], s => s.outbox.delete(e.seq));
  return 'done';
}

/** Removes the entry and stores the minutes; `dropPhotos` drops their photo entries too. */
async function finish(e, m, dropPhotos) {
  const entries = dropPhotos ? (await store.all('outbox')).filter(x => x.kind === 'photo' && x.minutes_id === m.id) : [];
  await store.write(['outbox', 'minutes'], s => {
    s.outbox.delete(e.seq);
    for (const x of entries) s.outbox.delete(x.seq);
    s.minutes.put(m);
  });
}

function problemText(p) {
  if (!p) return 'lỗi không rõ';
  const errs = (p.errors || []).map(x => `${x.field}: ${x.message}`).join('; ');
  return [p.detail || p.title, errs].filter(Boolean).join(' — ');
}

// ---------------------------------------------------------------- screens

function setStatus(text) {
  const el = $('#status');
  if (el) el.textContent = text;
}

function showLogin(message) {
  document.body.dataset.view = 'login';
  view().innerHTML = `
    <form class="card" data-view="login">
      <h1>Đăng nhập</h1>
      <p class="hint">Đội kiểm tra liên ngành 178 — sổ tay hiện trường</p>
      <label>Tên đăng nhập <input name="username" autocomplete="username" autocapitalize="none" required></label>
      <label>Mật khẩu <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit" class="primary" data-action="sign-in">Đăng nhập</button>
      <p class="msg" role="alert">${esc(message || '')}</p>
    </form>`;
  $('form', view()).addEventListener('submit', async ev => {
    ev.preventDefault();
    const f = ev.target;
    const msg = $('.msg', f);
    msg.textContent = 'Đang đăng nhập…';
    let r;
    try {
      r = await fetch(API + '/auth/login', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: f.username.value.trim(), password: f.password.value }),
      });
    } catch (e) { msg.textContent = 'Không có mạng. Cần có mạng để đăng nhập lần đầu.'; return; }
    if (r.status === 401) { msg.textContent = 'Sai tên đăng nhập hoặc mật khẩu.'; return; }
    if (r.status === 429) { msg.textContent = 'Thử sai quá nhiều lần, vui lòng đợi rồi thử lại.'; return; }
    if (!r.ok) { msg.textContent = 'Lỗi máy chủ (' + r.status + ').'; return; }
    const t = await r.json();
    if (!t.user.team_id) { msg.textContent = 'Tài khoản này không thuộc đội kiểm tra nào.'; return; }
    // Another user's data never stays on the phone.
    const previous = await store.kv.get('user_id');
    if (previous && previous !== t.user.id) await store.wipe();
    session = { user: t.user };
    await keepSession(t);
    await store.kv.set('user_id', t.user.id);
    await loadLocal();
    showHome();
    syncNow();
  });
}

function showHome() {
  document.body.dataset.view = 'home';
  view().innerHTML = `
    <div data-view="home">
      <nav class="tabs" role="tablist">
        <button role="tab" data-tab="plan">Phân công</button>
        <button role="tab" data-tab="surprise">Đột xuất</button>
        <button role="tab" data-tab="minutes">Biên bản</button>
      </nav>
      <section id="tab"></section>
    </div>`;
  $$('[data-tab]').forEach(b => b.addEventListener('click', () => { state.tab = b.dataset.tab; renderTab(); }));
  renderTab();
}

function render() {
  renderBar();
  if (document.body.dataset.view === 'home') renderTab();
}

async function renderBar() {
  showBar(await store.kv.get('last_sync'));
  await countOutbox();
}

function showBar(last) {
  $('#team').textContent = state.team ? state.team.name : '';
  $('#last-sync').textContent = last ? 'Đồng bộ: ' + showTime(last) : 'Chưa đồng bộ';
  $('#last-sync').dataset.lastSync = last ? String(last) : '';
}

function renderTab() {
  $$('[data-tab]').forEach(b => b.setAttribute('aria-selected', String(b.dataset.tab === state.tab)));
  const t = $('#tab');
  if (!t) return;
  if (state.tab === 'plan') renderPlan(t);
  else if (state.tab === 'surprise') renderSurprise(t);
  else renderMinutesList(t);
}


/** The team's assignments by status and date, filtered without diacritics. */
function renderPlan(t) {
  t.innerHTML = `
    <div class="filters">
      <label class="grow">Tìm cơ sở <input name="q" type="search" placeholder="tên, địa chỉ, số giấy phép" value="${esc(state.q)}"></label>
      <label>Trạng thái <select name="status">
        <option value="">Tất cả</option>
        ${['pending', 'scheduled', 'completed'].map(s => `<option value="${s}" ${state.status === s ? 'selected' : ''}>${STATUS_VI[s]}</option>`).join('')}
      </select></label>
    </div>
    <ul class="list" id="assignments"></ul>`;
  $('[name=q]', t).addEventListener('input', ev => { state.q = ev.target.value; listAssignments(); });
  $('[name=status]', t).addEventListener('change', ev => { state.status = ev.target.value; listAssignments(); });
  $('#assignments', t).addEventListener('click', ev => {
    const li = ev.target.closest('[data-assignment-id]');
    if (li) openForAssignment(li.dataset.assignmentId);
  });
  listAssignments();
}

function assignmentItem(a) {
  return `<li data-assignment-id="${esc(a.id)}" data-status="${esc(a.status)}" tabindex="0">
      <div class="row"><strong>${esc(a.establishment.name)}</strong><span class="badge ${esc(a.status)}">${STATUS_VI[a.status] || esc(a.status)}</span></div>
      <div class="sub">${esc(TYPE_VI[a.establishment.business_type] || a.establishment.business_type)} · ${esc(a.establishment.address)}</div>
      <div class="sub">${a.scheduled_for ? 'Lịch: ' + showDate(a.scheduled_for) : 'Hạn: ' + showDate(a.due_by)}</div>
    </li>`;
}

let listObserver = null;

/** The filtered list: the first PAGE items now, the next ones when the end scrolls into view. */
function listAssignments() {
  const ul = $('#assignments');
  if (!ul) return;
  if (listObserver) listObserver.disconnect();
  // Not read yet: the kept first page when nothing filters it; otherwise
  // the answer follows once everything is read (start() lists again).
  const head = !state.loaded && !state.q.trim() && !state.status ? state.head : null;
  if (!state.loaded && !head) return;
  const q = fold(state.q).trim();
  const rows = head ? head.items : state.assignments.filter(a => (!state.status || a.status === state.status) && (!q || a._key.includes(q)));
  const total = head ? head.total : rows.length;
  if (!rows.length) {
    ul.innerHTML = `<li class="empty">${state.assignments.length ? 'Không có phân công phù hợp.' : 'Chưa có dữ liệu — bấm Đồng bộ.'}</li>`;
    return;
  }
  let shown = Math.min(PAGE, rows.length);
  const more = () => shown < total ? `<li class="more" data-more>Còn ${total - shown} phân công — cuộn để xem thêm</li>` : '';
  ul.innerHTML = `<li class="count">${total} phân công</li>` + rows.slice(0, shown).map(assignmentItem).join('') + more();
  if (head) return;
  listObserver = new IntersectionObserver(entries => {
    if (!entries.some(e => e.isIntersecting)) return;
    const next = Math.min(shown + PAGE, rows.length);
    ul.querySelector('[data-more]')?.remove();
    ul.insertAdjacentHTML('beforeend', rows.slice(shown, next).map(assignmentItem).join(''));
    shown = next;
    ul.insertAdjacentHTML('beforeend', more());
    const m = ul.querySelector('[data-more]');
    if (m) listObserver.observe(m); else listObserver.disconnect();
  });
  const m = ul.querySelector('[data-more]');
  if (m) listObserver.observe(m);
}

async function renderSurprise(t) {
  if (!state.establishments) {
    state.establishments = (await store.all('establishments')).map(e => ({ ...e, _key: fold(`${e.name} ${e.address} ${e.licence_no}`) }));
  }
  t.innerHTML = `
    <p class="hint">Kiểm tra đột xuất một cơ sở trong địa bàn của đội.</p>
    <label>Tìm cơ sở <input name="q" type="search" placeholder="tên, địa chỉ, số giấy phép"></label>
    <ul class="list" id="establishments"></ul>`;
  const list = () => {
    const q = fold($('[name=q]', t).value).trim();
    const rows = state.establishments.filter(e => !q || e._key.includes(q)).slice(0, 50);
    $('#establishments', t).innerHTML = rows.map(e => `
      <li data-establishment-id="${esc(e.id)}" tabindex="0">
        <div class="row"><strong>${esc(e.name)}</strong></div>
        <div class="sub">${esc(TYPE_VI[e.business_type] || e.business_type)} · ${esc(e.address)} · ${esc(e.licence_no)}</div>
      </li>`).join('') || '<li class="empty">Không tìm thấy cơ sở.</li>';
  };
  $('[name=q]', t).addEventListener('input', list);
  $('#establishments', t).addEventListener('click', ev => {
    const li = ev.target.closest('[data-establishment-id]');
    if (li) openNew(null, state.establishments.find(e => e.id === li.dataset.establishmentId));
  });
  list();
}

function minutesState(m) {
  if (m.correction && !m.correction.error) return 'queued';
  if (m.review?.status === 'returned' && m.state === 'sent') return 'returned';
  if (m.review?.status === 'accepted' && m.state === 'sent') return 'accepted';
  return m.state;
}

async function renderMinutesList(t) {
  const ms = (await store.all('minutes')).sort((a, b) => (b.updated_at || 0) - (a.updated_at || 0));
  t.innerHTML = `<p class="hint">Chờ gửi: <strong>${state.outbox}</strong> mục. ${state.outbox ? '<button data-action="send" class="small">Gửi ngay</button>' : ''}</p>
    <ul class="list" id="minutes">${ms.map(m => {
      const st = minutesState(m);
      return `<li data-minutes-id="${esc(m.id)}" data-state="${esc(st)}" tabindex="0">
        <div class="row"><strong>${esc(m.establishment_name)}</strong><span class="badge ${esc(st)}">${esc(STATE_VI[st] || st)}</span></div>
        <div class="sub">${showTime(m.body.started_at)} · ${esc(OUTCOME_VI[m.body.outcome] || '')} · phiên bản ${m.version || 1}</div>
        ${m.error ? `<div class="error" data-error>${esc(m.error)}</div>` : ''}
        ${m.correction?.error ? `<div class="error" data-error>${esc(m.correction.error)}</div>` : ''}
        ${m.review?.status === 'returned' ? `<div class="comment" data-review-comment>Nhận xét: ${esc(m.review.comment || '')}</div>` : ''}
        ${m.photos?.length ? `<div class="sub">Ảnh: ${m.photos.filter(p => p.uploaded).length}/${m.photos.length} đã gửi</div>` : ''}
      </li>`;
    }).join('') || '<li class="empty">Chưa có biên bản.</li>'}</ul>`;
  $('#minutes', t).addEventListener('click', ev => {
    const li = ev.target.closest('[data-minutes-id]');
    if (li) openMinutes(li.dataset.minutesId);
  });
}

// ---------------------------------------------------------------- the minutes form

let form = null; // {m: minutes record, est, assignment, mode: 'new'|'draft'|'correction'|'view', photos: [...], signatures}

async function openForAssignment(id) {
  const a = await store.get('assignments', id);
  if (!a) return;
  const existing = (await store.all('minutes')).find(m => m.assignment_id === id);
  if (existing) return openMinutes(existing.id);
  openNew(a, a.establishment);
}

function openNew(assignment, est) {
  const now = new Date();
  const body = {
    id: newId(), assignment_id: assignment ? assignment.id : null, establishment_id: est.id,
    team_id: session.user.team_id, started_at: rfc3339(now), finished_at: rfc3339(now), location: null,
    members_present: [session.user.id], outcome: 'no_violation', notes: null, checklist: {}, violations: [],
  };
  const m = { id: body.id, assignment_id: body.assignment_id, establishment_id: est.id, establishment_name: est.name, body, state: 'new', photos: [], version: 1 };
  showForm(m, est, assignment, 'new');
}

async function openMinutes(id) {
  const m = await store.get('minutes', id);
  if (!m) return;
  const a = m.assignment_id ? await store.get('assignments', m.assignment_id) : null;
  const est = a ? a.establishment : (await store.get('establishments', m.establishment_id)) || { id: m.establishment_id, name: m.establishment_name, address: '' };
  const st = minutesState(m);
  const mode = m.state === 'draft' ? 'draft' : st === 'returned' ? 'correction' : 'view';
  showForm(m, est, a, mode);
}

function toLocalInput(s) {
  const d = new Date(s), p = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function catalogueMap() {
  return Object.fromEntries(state.catalogue.map(c => [c.code, c]));
}

function violationRow(v = {}) {
  const opts = state.catalogue.map(c => `<option value="${esc(c.code)}" ${c.code === v.code ? 'selected' : ''}>${esc(c.title)}</option>`).join('');
  return `<fieldset class="violation">
    <label>Hành vi vi phạm <select name="code"><option value="">— chọn —</option>${opts}</select></label>
    <p class="hint" data-range></p>
    <label>Hình thức xử lý <select name="sanction">${SANCTIONS.map(s => `<option value="${s}" ${s === (v.sanction || 'warning') ? 'selected' : ''}>${SANCTION_VI[s]}</option>`).join('')}</select></label>
    <label>Mức phạt (đồng) <input name="fine_vnd" inputmode="numeric" value="${v.fine_vnd ?? ''}"></label>
    <label>Mô tả <input name="description" value="${esc(v.description || '')}"></label>
    <button type="button" class="small" data-action="remove-violation">Bỏ vi phạm này</button>
  </fieldset>`;
}

function showForm(m, est, assignment, mode) {
  document.body.dataset.view = 'form';
  const b = m.body;
  const ro = mode === 'view';
  const members = state.team?.members || [];
  const leaderCanSchedule = assignment && isLeader() && ['pending', 'scheduled'].includes(assignment.status) && mode !== 'view';
  form = { m, est, assignment, mode, photos: [...(m.photos || [])], newBlobs: [], signatures: {} };
  view().innerHTML = `
    <form class="card minutes" data-view="form" data-minutes-id="${esc(m.id)}" data-mode="${mode}" novalidate>
      <button type="button" class="back" data-action="back">‹ Quay lại</button>
      <h1>Biên bản kiểm tra</h1>
      <div class="est">
        <strong>${esc(est.name)}</strong>
        <div class="sub">${esc(est.address)}${est.licence_no ? ' · GP ' + esc(est.licence_no) : ''}${est.owner_name ? ' · Chủ: ' + esc(est.owner_name) : ''}</div>
        <div class="sub">${assignment ? 'Theo phân công' : 'Kiểm tra đột xuất'}</div>
      </div>
      ${m.review?.status === 'returned' ? `<p class="comment" data-review-comment>Bị trả lại: ${esc(m.review.comment || '')}</p>` : ''}
      ${m.error ? `<p class="error">${esc(m.error)}</p>` : ''}
      ${leaderCanSchedule ? `<div class="schedule">
        <label>Ngày kiểm tra dự kiến <input type="date" name="scheduled_for" value="${esc(assignment.scheduled_for || '')}"></label>
        <button type="button" data-action="schedule">Lên lịch</button>
        ${assignment._error ? `<p class="error">${esc(assignment._error)}</p>` : ''}
      </div>` : ''}
      <fieldset ${ro ? 'disabled' : ''}>
        <label>Bắt đầu <input type="datetime-local" name="started_at" value="${toLocalInput(b.started_at)}"></label>
        <label>Kết thúc <input type="datetime-local" name="finished_at" value="${toLocalInput(b.finished_at)}"></label>
        <div class="locate">
          <button type="button" data-action="locate">Lấy vị trí</button>
          <output name="location">${b.location ? `${b.location.latitude.toFixed(5)}, ${b.location.longitude.toFixed(5)} (±${Math.round(b.location.accuracy_m ?? 0)} m)` : 'Chưa có vị trí'}</output>
          <output name="distance">${distanceText(b.location, est)}</output>
        </div>
        <fieldset class="group"><legend>Thành viên có mặt</legend>
          ${members.map(u => `<label class="check"><input type="checkbox" name="members_present" value="${esc(u.user_id)}" ${b.members_present.includes(u.user_id) ? 'checked' : ''}> ${esc(u.full_name)}${u.is_leader ? ' (trưởng đoàn)' : ''}</label>`).join('')}
        </fieldset>
        <label>Kết quả <select name="outcome">${OUTCOMES.map(o => `<option value="${o}" ${o === b.outcome ? 'selected' : ''}>${OUTCOME_VI[o]}</option>`).join('')}</select></label>
        <fieldset class="group"><legend>Nội dung kiểm tra</legend>
          ${CHECKLIST.map(([k, t]) => `<label class="check"><input type="checkbox" name="checklist.${k}" ${b.checklist?.[k] ? 'checked' : ''}> ${t}</label>`).join('')}
        </fieldset>
        <fieldset class="group"><legend>Vi phạm</legend>
          <div id="violations">${(b.violations || []).map(violationRow).join('')}</div>
          <button type="button" data-action="add-violation">+ Thêm vi phạm</button>
        </fieldset>
        <label>Ghi chú <textarea name="notes" rows="3">${esc(b.notes || '')}</textarea></label>
        <fieldset class="group"><legend>Ảnh</legend>
          <input type="file" name="photo" accept="image/jpeg,image/png" capture="environment" hidden>
          <button type="button" data-action="add-photo">Chụp ảnh</button>
          <ul class="photos" id="photos"></ul>
        </fieldset>
        ${mode === 'view' || mode === 'correction' ? '' : `<fieldset class="group"><legend>Chữ ký</legend>
          ${[['representative', 'Đại diện cơ sở'], ['leader', 'Trưởng đoàn']].map(([r, t]) => `
            <div class="sign" data-role="${r}"><span>${t}</span>
              <canvas width="600" height="200" data-signature="${r}"></canvas>
              <button type="button" class="small" data-action="sign" data-role="${r}">Lưu chữ ký</button>
              <button type="button" class="small" data-action="clear-sign" data-role="${r}">Xóa</button>
              <output data-signed="${r}">${(m.photos || []).some(p => p.role === r) ? 'Đã ký' : ''}</output>
            </div>`).join('')}
        </fieldset>`}
        ${mode === 'correction' ? '<label>Lý do sửa <input name="reason" required></label>' : ''}
      </fieldset>
      <ul class="errors" role="alert" id="errors"></ul>
      <div class="actions">
        ${mode === 'new' || mode === 'draft' ? '<button type="button" data-action="save">Lưu nháp</button><button type="button" class="primary" data-action="send">Lưu và gửi</button>' : ''}
        ${mode === 'correction' ? '<button type="button" class="primary" data-action="send">Gửi bản sửa</button>' : ''}
      </div>
    </form>`;
  const f = $('form.minutes');
  renderPhotos();
  $$('.violation', f).forEach(showRange);
  f.addEventListener('click', onFormClick);
  f.addEventListener('change', ev => { if (ev.target.name === 'code') showRange(ev.target.closest('.violation')); if (ev.target.name === 'photo') addPhoto(ev.target); });
  $$('canvas[data-signature]', f).forEach(pad);
  window.scrollTo(0, 0);
}

function distanceText(loc, est) {
  if (!loc || est.latitude == null || est.longitude == null) return '';
  const d = distanceM(loc.latitude, loc.longitude, est.latitude, est.longitude);
  return `Cách cơ sở ${d < 1000 ? Math.round(d) + ' m' : (d / 1000).toFixed(1).replace('.', ',') + ' km'}`;
}

function showRange(fs) {
  const c = catalogueMap()[$('[name=code]', fs).value];
  $('[data-range]', fs).textContent = c ? `${c.legal_basis} · Mức phạt: ${c.min_fine_vnd != null ? vnd(c.min_fine_vnd) : '1'}–${c.max_fine_vnd != null ? vnd(c.max_fine_vnd) : '∞'} đ` : '';
}

async function onFormClick(ev) {
  const btn = ev.target.closest('[data-action]');
  if (!btn) return;
  const f = $('form.minutes');
  switch (btn.dataset.action) {
    case 'back': showHome(); break;
    case 'add-violation': $('#violations', f).insertAdjacentHTML('beforeend', violationRow()); break;
    case 'remove-violation': btn.closest('.violation').remove(); break;
    case 'add-photo': $('[name=photo]', f).click(); break;
    case 'locate': locate(); break;
    case 'sign': await captureSignature(btn.dataset.role); break;
    case 'clear-sign': { const c = $(`canvas[data-signature="${btn.dataset.role}"]`, f); c.getContext('2d').clearRect(0, 0, c.width, c.height); c.dataset.drawn = ''; break; }
    case 'schedule': schedule(); break;
    case 'save': await saveMinutes(false); break;
    case 'send': await saveMinutes(true); break;
    default: break;
  }
}

function locate() {
  const out = $('output[name=location]');
  if (!navigator.geolocation) { out.textContent = 'Máy không hỗ trợ định vị'; return; }
  out.textContent = 'Đang lấy vị trí…';
  navigator.geolocation.getCurrentPosition(p => {
    form.m.body.location = { latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy_m: Math.round(p.coords.accuracy * 10) / 10 };
    const l = form.m.body.location;
    out.textContent = `${l.latitude.toFixed(5)}, ${l.longitude.toFixed(5)} (±${Math.round(l.accuracy_m)} m)`;
    $('output[name=distance]').textContent = distanceText(l, form.est);
  }, e => { out.textContent = 'Không lấy được vị trí: ' + e.message; }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
}

async function addPhoto(input) {
  for (const file of input.files) {
    const data = await file.arrayBuffer();
    const sha256 = await sha256Hex(data);
    const type = file.type === 'image/png' ? 'image/png' : 'image/jpeg';
    if (!form.photos.some(p => p.sha256 === sha256)) {
      form.photos.push({ sha256, type, size: data.byteLength, role: 'photo' });
      form.newBlobs.push({ sha256, type, data });
    }
  }
  input.value = '';
  renderPhotos();
}

function renderPhotos() {
  const ul = $('#photos');
  if (!ul) return;
  const photos = form.photos.filter(p => p.role === 'photo');
  ul.innerHTML = photos.map(p => `<li data-sha256="${p.sha256}">Ảnh ${p.sha256.slice(0, 8)}… ${Math.round(p.size / 1024)} KB ${p.uploaded ? '✓ đã gửi' : ''}</li>`).join('');
}

/** Finger drawing on a canvas (pointer events: touch, pen and mouse). */
function pad(c) {
  const g = c.getContext('2d');
  g.lineWidth = 4; g.lineCap = 'round'; g.strokeStyle = '#000';
  let last = null;
  const pos = e => { const r = c.getBoundingClientRect(); return [(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height]; };
  c.addEventListener('pointerdown', e => { c.setPointerCapture(e.pointerId); last = pos(e); e.preventDefault(); });
  c.addEventListener('pointermove', e => {
    if (!last) return;
    const p = pos(e);
    g.beginPath(); g.moveTo(...last); g.lineTo(...p); g.stroke();
    last = p; c.dataset.drawn = '1';
  });
  const end = () => { last = null; };
  c.addEventListener('pointerup', end); c.addEventListener('pointercancel', end);
}

async function captureSignature(role) {
  const c = $(`canvas[data-signature="${role}"]`);
  if (!c.dataset.drawn) { $(`output[data-signed="${role}"]`).textContent = 'Chưa ký'; return; }
  const blob = await new Promise(r => c.toBlob(r, 'image/png'));
  const data = await blob.arrayBuffer();
  const sha256 = await sha256Hex(data);
  form.photos = form.photos.filter(p => p.role !== role);
  form.newBlobs = form.newBlobs.filter(b => b.role !== role);
  form.photos.push({ sha256, type: 'image/png', size: data.byteLength, role });
  form.newBlobs.push({ sha256, type: 'image/png', data, role });
  $(`output[data-signed="${role}"]`).textContent = 'Đã ký';
}

/** The form's content as the API's body. */
function readForm() {
  const f = $('form.minutes');
  const b = { ...form.m.body };
  const when = name => { const v = f[name].value; return v ? rfc3339(new Date(v)) : ''; };
  b.started_at = when('started_at');
  b.finished_at = when('finished_at');
  b.members_present = $$('[name=members_present]:checked', f).map(x => x.value);
  b.outcome = f.outcome.value;
  b.checklist = Object.fromEntries(CHECKLIST.map(([k]) => [k, f[`checklist.${k}`].checked]));
  b.violations = $$('.violation', f).map(fs => {
    const v = { code: $('[name=code]', fs).value, sanction: $('[name=sanction]', fs).value };
    const desc = $('[name=description]', fs).value.trim();
    if (desc) v.description = desc;
    const fine = $('[name=fine_vnd]', fs).value.replace(/[.\s,đ]/g, '');
    if (fine) v.fine_vnd = /^\d+$/.test(fine) ? Number(fine) : NaN;
    return v;
  });
  const notes = f.notes.value.trim();
  b.notes = notes || null;
  return b;
}

function showErrors(errs) {
  $('#errors').innerHTML = errs.map(e => `<li data-field="${esc(e.field)}">${esc(e.field)}: ${esc(e.message)}</li>`).join('');
  if (errs.length) $('#errors').scrollIntoView({ block: 'center' });
}

/**
 * Saves the minutes on the phone, in one transaction with their photos and
 * (when sending) their outbox entries: the minutes first, then each photo.
 */
async function saveMinutes(send) {
  const body = readForm();
  const members = new Set((state.team?.members || []).map(u => u.user_id));
  if (form.mode === 'correction') {
    const reason = $('[name=reason]').value.trim();
    const errs = validateMinutes(body, catalogueMap(), members);
    if (!reason) errs.unshift({ field: 'reason', message: 'is required' });
    showErrors(errs);
    if (errs.length) return;
    const m = form.m;
    const { id, assignment_id, establishment_id, team_id, ...fields } = body;
    m.body = body;
    m.correction = { reason };
    m.updated_at = Date.now();
    await store.write(['minutes', 'outbox'], s => {
      s.minutes.put(m);
      s.outbox.add({ kind: 'correction', minutes_id: m.id, base_version: m.version || 1, body: { reason, ...fields } });
    });
  } else {
    if (send) {
      const errs = validateMinutes(body, catalogueMap(), members);
      showErrors(errs);
      if (errs.length) return;
    }
    const m = form.m;
    m.body = body;
    m.photos = form.photos;
    m.state = send ? 'queued' : 'draft';
    m.updated_at = Date.now();
    if (send) m.json = JSON.stringify(body); // exactly what every retry sends
    const blobs = form.newBlobs;
    const leaderSigns = m.photos.filter(p => p.role !== 'photo');
    await store.write(['minutes', 'blobs', 'outbox'], s => {
      s.minutes.put(m);
      for (const b of blobs) s.blobs.put({ sha256: b.sha256, type: b.type, data: b.data });
      if (send) {
        s.outbox.add({ kind: 'minutes', minutes_id: m.id });
        for (const p of [...m.photos.filter(p => p.role === 'photo'), ...leaderSigns]) {
          s.outbox.add({ kind: 'photo', minutes_id: m.id, sha256: p.sha256 });
        }
      }
    });
    form.newBlobs = [];
  }
  await countOutbox();
  state.tab = 'minutes';
  showHome();
  if (send) drain();
}

async function schedule() {
  const a = form.assignment;
  const day = $('[name=scheduled_for]').value || null;
  a.scheduled_for = day;
  a.status = day ? 'scheduled' : 'pending';
  delete a._error;
  await store.write(['assignments', 'outbox'], s => {
    s.assignments.put(a);
    s.outbox.add({ kind: 'schedule', assignment_id: a.id, scheduled_for: day, version: a.version });
  });
  await loadLocal();
  drain();
  showHome();
}

// ---------------------------------------------------------------- start

async function signOut() {
  const n = await store.count('outbox');
  if (n && !confirm(`Còn ${n} mục chưa gửi sẽ bị xóa khỏi máy. Vẫn đăng xuất?`)) return;
  try { if (session) await api('POST', '/auth/logout'); } catch (e) { /* offline: the token expires by itself */ }
  session = null;
  await store.wipe();
  state.assignments = []; state.team = null; state.establishments = null; state.head = null; state.headSig = null;
  await renderBar();
  showLogin('Đã đăng xuất; dữ liệu trên máy đã được xóa.');
}

/**
 * The first screen comes from IndexedDB alone: nothing before it waits on
 * the network (the service worker's registration, the outbox and the sync
 * start once it is drawn). The marks are what bench/field-app reports.
 */
async function start() {
  performance.mark('kiemtra-script');
  $('[data-action=sync]').addEventListener('click', () => syncNow());
  $('[data-action=sign-out]').addEventListener('click', signOut);
  document.addEventListener('click', ev => { if (ev.target.closest('#tab [data-action=send]')) resetBackoff().then(drain); });
  window.addEventListener('online', () => { setStatus(''); resetBackoff().then(drain); });
  window.addEventListener('offline', () => setStatus('Không có mạng — làm việc ngoại tuyến'));
  // A few small values: not every assignment (the plan's kept first page
  // stands for them until they are read, just after the first paint).
  const [s, last, team, head] = await Promise.all([
    store.kv.get('session'), store.kv.get('last_sync'), store.kv.get('team'), store.kv.get('plan_head'), countOutbox(),
  ]);
  session = s;
  state.team = team;
  if (head) { state.head = head; state.headSig = head.sig; }
  performance.mark('kiemtra-local');
  showBar(last);
  if (session) showHome(); else showLogin();
  // `kiemtra-ready`: the first screen is usable.
  document.body.dataset.ready = '1';
  performance.mark('kiemtra-ready');
  // After the first paint: checking for a new release is a network request.
  // A page the new worker's activation missed asks to be claimed.
  setTimeout(() => {
    if (!('serviceWorker' in navigator)) return;
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch(() => {});
    navigator.serviceWorker.ready.then(r => { if (!navigator.serviceWorker.controller && r.active) r.active.postMessage('claim'); });
  }, 0);
  // Every assignment, for searching and scrolling (`kiemtra-loaded`).
  await loadLocal();
  performance.mark('kiemtra-loaded');
  if (document.body.dataset.view === 'home' && state.tab === 'plan') listAssignments();
  if (!session) return;
  drain();
  if (navigator.onLine) syncNow();
}

async function resetBackoff() {
  const entries = await store.all('outbox');
  await store.write(['outbox'], s => { for (const e of entries) { e.next_at = 0; s.outbox.put(e); } });
}

start();
