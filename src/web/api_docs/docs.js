// Interactive documentation of the API, built from the served OpenAPI
// document: every operation with its parameters, body schema and examples,
// and a form that sends it. Nothing is fetched from anywhere else.

const $ = (s, r = document) => r.querySelector(s);
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
let spec;

function resolve(s, depth = 0) {
  if (s && s.$ref && depth < 20) return resolve(s.$ref.split('/').slice(1).reduce((o, k) => o[k], spec), depth + 1);
  return s || {};
}

/** An example value: the spec's own, else one made from the schema. */
function example(s, depth = 0) {
  s = resolve(s);
  if (s.example !== undefined) return s.example;
  if (s.examples && s.examples.length) return s.examples[0];
  if (s.default !== undefined) return s.default;
  if (depth > 6) return null;
  if (s.enum) return s.enum[0];
  if (s.oneOf) return example(s.oneOf[0], depth + 1);
  if (s.anyOf) return example(s.anyOf[0], depth + 1);
  const t = Array.isArray(s.type) ? s.type.find(x => x !== 'null') : s.type;
  if (t === 'object' || s.properties) {
    const o = {};
    for (const [k, v] of Object.entries(s.properties || {})) {
      if ((s.required || []).includes(k) || depth === 0) o[k] = example(v, depth + 1);
    }
    return o;
  }
  if (t === 'array') return [example(s.items, depth + 1)];
  if (t === 'integer' || t === 'number') return s.minimum ?? 0;
  if (t === 'boolean') return false;
  if (t === 'string') {
    if (s.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
    if (s.format === 'date-time') return new Date().toISOString().replace(/\.\d+Z$/, '+00:00');
    if (s.format === 'date') return new Date().toISOString().slice(0, 10);
    return '';
  }
  return null;
}

function operation(path, method, op) {
  const params = [...(spec.paths[path].parameters || []), ...(op.parameters || [])].map(resolve);
  const body = op.requestBody && resolve(op.requestBody);
  const media = body && Object.keys(body.content || {})[0];
  const bodyMedia = media && body.content[media];
  const sample = bodyMedia && (bodyMedia.example ?? Object.values(bodyMedia.examples || {})[0]?.value ?? example(bodyMedia.schema));
  const d = document.createElement('details');
  d.dataset.search = `${path} ${op.summary || ''} ${(op.tags || []).join(' ')}`.toLowerCase();
  d.innerHTML = `<summary><span class="m ${method}">${method}</span> <code>${esc(path)}</code> — ${esc(op.summary || '')}</summary>
    <div class="op">
      <p>${esc(op.description || '').replace(/\n/g, '<br>')}</p>
      ${params.length ? `<table><tr><th>parameter</th><th>in</th><th>value</th><th></th></tr>${params.map(p => `<tr><td><code>${esc(p.name)}</code>${p.required ? ' *' : ''}</td><td>${esc(p.in)}</td>
        <td><input data-param="${esc(p.name)}" data-in="${esc(p.in)}" value="${esc(p.example ?? '')}"></td><td>${esc(p.description || '')}</td></tr>`).join('')}</table>` : ''}
      ${media ? `<p>Body (<code>${esc(media)}</code>):</p><textarea data-body>${esc(typeof sample === 'string' ? sample : JSON.stringify(sample, null, 2))}</textarea>` : ''}
      <p>Responses: ${Object.keys(op.responses || {}).map(esc).join(', ')}</p>
      <button data-action="send">Send</button>
      <pre data-result hidden></pre>
    </div>`;
  $('[data-action=send]', d).addEventListener('click', async () => {
    let url = path;
    const q = new URLSearchParams();
    const headers = {};
    for (const i of d.querySelectorAll('[data-param]')) {
      if (!i.value) continue;
      if (i.dataset.in === 'path') url = url.replace(`{${i.dataset.param}}`, encodeURIComponent(i.value));
      else if (i.dataset.in === 'query') q.append(i.dataset.param, i.value);
      else if (i.dataset.in === 'header') headers[i.dataset.param] = i.value;
    }
    const token = $('[name=token]').value.trim();
    if (token) headers.Authorization = 'Bearer ' + token;
    const init = { method: method.toUpperCase(), headers };
    const ta = $('[data-body]', d);
    if (ta) { headers['Content-Type'] = media; init.body = ta.value; }
    const out = $('[data-result]', d);
    out.hidden = false;
    out.textContent = '…';
    try {
      const r = await fetch(url + (q.toString() ? '?' + q : ''), init);
      const text = await r.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
      out.textContent = `${r.status} ${r.statusText}\n${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${shown}`;
    } catch (e) { out.textContent = String(e); }
  });
  return d;
}

async function start() {
  spec = await (await fetch('/api/v1/openapi.json')).json();
  $('#version').textContent = spec.info?.version || '';
  const main = $('#ops');
  main.innerHTML = '';
  const byTag = {};
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      if (!item[method]) continue;
      const tag = (item[method].tags || ['other'])[0];
      (byTag[tag] = byTag[tag] || []).push(operation(path, method, item[method]));
    }
  }
  for (const [tag, ops] of Object.entries(byTag)) {
    const h = document.createElement('h2');
    h.textContent = tag;
    main.append(h, ...ops);
  }
  $('#filter').addEventListener('input', ev => {
    const f = ev.target.value.toLowerCase();
    for (const d of main.querySelectorAll('details')) d.hidden = !!f && !d.dataset.search.includes(f);
  });
  $('#auth').addEventListener('submit', async ev => {
    ev.preventDefault();
    const f = ev.target;
    const r = await fetch('/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: f.username.value, password: f.password.value }) });
    const j = await r.json();
    f.token.value = r.ok ? j.access_token : `(${r.status}) ${j.detail || ''}`;
  });
}

start();
