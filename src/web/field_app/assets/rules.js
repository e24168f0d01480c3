// Pure rules shared by the field app's screens: the same checks, with the
// same messages, as the server's domain::minutes::validate_content, so that
// an inspector sees a mistake on the phone rather than after a sync.

/** Lower case without diacritics (đ → d): "Karaoke Hoa Mai" finds "karaoke hoa mai". */
export function fold(s) {
  return String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd').replace(/Đ/g, 'd').toLowerCase();
}

/** Great-circle distance in metres (the server's haversine_m). */
export function distanceM(lat1, lon1, lat2, lon2) {
  const r = 6371000, rad = Math.PI / 180;
  const dp = (lat2 - lat1) * rad, dl = (lon2 - lon1) * rad;
  const a = Math.sin(dp / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dl / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(a));
}

/** Whether a fine lies in the catalogue's range (positive when no minimum). */
export function fineInRange(fine, min, max) {
  return !((min != null && fine < min) || (max != null && fine > max) || fine <= 0);
}

export const OUTCOMES = ['no_violation', 'violations_found', 'closed', 'refused_entry', 'not_found'];
export const SANCTIONS = ['warning', 'fine', 'suspension', 'referral'];

/**
 * The minutes body's errors as the server words them: [{field, message}].
 * `catalogue` maps a code to {min_fine_vnd, max_fine_vnd}; `members` is the
 * set of the team's user ids.
 */
export function validateMinutes(body, catalogue, members) {
  const errs = [];
  const push = (field, message) => errs.push({ field, message });
  const started = Date.parse(body.started_at), finished = Date.parse(body.finished_at);
  if (Number.isNaN(started)) push('started_at', 'must be an RFC 3339 time with an offset');
  if (Number.isNaN(finished)) push('finished_at', 'must be an RFC 3339 time with an offset');
  const dayAhead = Date.now() + 24 * 3600 * 1000;
  if (started > dayAhead) push('started_at', 'is in the future');
  if (finished > dayAhead) push('finished_at', 'is in the future');
  if (finished < started) push('finished_at', 'is before started_at');
  const l = body.location;
  if (l) {
    if (!(l.latitude >= -90 && l.latitude <= 90)) push('location.latitude', 'must be between -90 and 90');
    if (!(l.longitude >= -180 && l.longitude <= 180)) push('location.longitude', 'must be between -180 and 180');
    if (l.accuracy_m != null && !(l.accuracy_m >= 0 && l.accuracy_m <= 100000)) push('location.accuracy_m', 'must be between 0 and 100000');
  }
  if (!OUTCOMES.includes(body.outcome)) push('outcome', 'must be one of ' + OUTCOMES.join(', '));
  const found = body.outcome === 'violations_found';
  const none = !body.violations || body.violations.length === 0;
  if (found && none) push('violations', 'outcome violations_found needs at least one violation');
  if (!found && !none && OUTCOMES.includes(body.outcome)) push('violations', 'must be empty when the outcome is ' + body.outcome);
  if (!body.members_present || body.members_present.length === 0) push('members_present', 'at least one team member must be present');
  const seen = new Set();
  (body.members_present || []).forEach((m, i) => {
    if (members && !members.has(m)) push(`members_present[${i}]`, 'is not a member of the team');
    else if (seen.has(m)) push(`members_present[${i}]`, 'is listed twice');
    seen.add(m);
  });
  (body.violations || []).forEach((v, i) => {
    const c = catalogue[v.code];
    if (!c) { push(`violations[${i}].code`, 'is not in the violation catalogue'); return; }
    if (!SANCTIONS.includes(v.sanction)) push(`violations[${i}].sanction`, 'must be one of ' + SANCTIONS.join(', '));
    const isFine = v.sanction === 'fine';
    if (isFine && v.fine_vnd == null) push(`violations[${i}].fine_vnd`, 'is required with a fine');
    else if (isFine && !fineInRange(v.fine_vnd, c.min_fine_vnd, c.max_fine_vnd)) {
      push(`violations[${i}].fine_vnd`, `must be within the catalogue range ${c.min_fine_vnd ?? 1}–${c.max_fine_vnd ?? '∞'} VND`);
    } else if (!isFine && v.fine_vnd != null) push(`violations[${i}].fine_vnd`, 'is only for the sanction fine');
  });
  return errs;
}

/** A new minutes id (a v4 UUID), made on the phone when the minutes are created. */
export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map(x => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Hex SHA-256 of bytes (what the attachment's path names). */
export async function sha256Hex(buf) {
  const d = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(d)].map(x => x.toString(16).padStart(2, '0')).join('');
}

/** The next retry's delay after `attempts` failures: 1 s doubling to 60 s, ±20 %. */
export function backoffMs(attempts) {
  const base = Math.min(60000, 1000 * 2 ** Math.min(attempts, 6));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** RFC 3339 with the phone's offset, e.g. 2026-11-30T09:05:00+07:00. */
export function rfc3339(d) {
  const p = n => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset(), sign = off >= 0 ? '+' : '-', a = Math.abs(off);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${sign}${p(Math.floor(a / 60))}:${p(a % 60)}`;
}

/** dd/mm/yyyy HH:MM in the phone's time. */
export function showTime(s) {
  if (!s) return '—';
  const d = new Date(s), p = n => String(n).padStart(2, '0');
  return `${p(d.getDate())}/${p(d.getMonth() + 1)}/${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** yyyy-mm-dd → dd/mm/yyyy. */
export function showDate(s) {
  if (!s) return '—';
  const [y, m, d] = s.split('-');
  return `${d}/${m}/${y}`;
}
