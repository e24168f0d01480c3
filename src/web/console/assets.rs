//! The console's stylesheet and script, compiled into the binary: nothing
//! is fetched from anywhere at run time.

use actix_web::http::header;
use actix_web::HttpResponse;

/// Where the stylesheet is served.
pub const CSS_PATH: &str = "/console/assets/console.css";
/// Where the script is served.
pub const JS_PATH: &str = "/console/assets/console.js";

const CSS: &str = r#"
:root{--ink:#1d2733;--muted:#5b6673;--line:#d5dbe1;--bg:#f5f7f9;--brand:#8a1c1c;--ok:#1e6b3a;--warn:#9a5b00;--bad:#a4161a;--card:#fff}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--ink);background:var(--bg)}
a{color:#0b4f8a}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.5rem 1rem;background:var(--brand);color:#fff}
header.top a{color:#fff;text-decoration:none}
.brand{font-weight:700}
header nav{display:flex;flex-wrap:wrap;gap:.25rem .75rem;flex:1}
header nav a{padding:.2rem .1rem;border-bottom:2px solid transparent}
header nav a[aria-current=page]{border-bottom-color:#fff}
form.who{display:flex;gap:.5rem;align-items:center;font-size:.9rem}
form.who button{background:transparent;color:#fff;border:1px solid #fff}
main{max-width:1200px;margin:0 auto;padding:1rem}
body.bare{padding:0 .75rem}
body.bare main{max-width:420px;margin-top:8vh;background:var(--card);border:1px solid var(--line);border-radius:6px}
body.bare .brand{color:var(--brand);margin:0}
h1{font-size:1.45rem;margin:.2rem 0 1rem}
h2{font-size:1.15rem;margin:1.4rem 0 .5rem}
footer{color:var(--muted);font-size:.85rem;text-align:center;padding:1rem}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:.75rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.75rem}
.card .big{font-size:1.6rem;font-weight:700}
.muted{color:var(--muted)}
.flag{display:inline-block;padding:.05rem .4rem;border-radius:3px;background:#fde8d7;color:var(--warn);font-size:.85rem;margin:.1rem .2rem .1rem 0}
.flag.bad{background:#fbdada;color:var(--bad)}
.ok{color:var(--ok)}.bad{color:var(--bad)}
.notice{background:#e3f2e8;border:1px solid #b4dcc1;padding:.5rem .75rem;border-radius:4px}
.warning{background:#fff4e0;border:1px solid #f0c987;padding:.5rem .75rem;border-radius:4px}
form.stack{display:grid;gap:.6rem;max-width:560px}
form.inline,div.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
label{display:grid;gap:.15rem;font-weight:600;font-size:.9rem}
label.check{display:flex;align-items:center;gap:.4rem;font-weight:400}
input,select,textarea,button{font:inherit;padding:.35rem .5rem;border:1px solid #9aa5b1;border-radius:4px;background:#fff;color:inherit}
textarea{min-height:4.5rem}
button{background:#0b4f8a;color:#fff;border-color:#0b4f8a;cursor:pointer}
button.secondary{background:#fff;color:#0b4f8a}
button.danger{background:var(--bad);border-color:var(--bad)}
.bar{height:.7rem;background:#e6e9ed;border-radius:3px;position:relative;min-width:80px}
.bar span{position:absolute;left:0;top:0;bottom:0;background:#2f7d4a;border-radius:3px}
.bar i{position:absolute;top:-2px;bottom:-2px;width:2px;background:var(--bad)}
.photos{display:flex;flex-wrap:wrap;gap:.5rem}
.photos img{max-width:220px;max-height:220px;border:1px solid var(--line)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
code.hash{font-size:.8rem;overflow-wrap:anywhere;word-break:break-all}
.badge{display:inline-block;padding:.05rem .4rem;border-radius:3px;font-size:.8rem;font-weight:600}
.badge.rehearsal{background:#e6e0f5;color:#4b2a8a}
fieldset{border:1px solid var(--line);border-radius:4px;display:grid;gap:.4rem}
details#cancel-plan{margin-top:1rem}
details#cancel-plan summary{cursor:pointer;color:var(--bad);font-weight:600}
#problem ul{margin:.25rem 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.diff{background:#fff4c2}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
progress{width:100%}
@media (max-width:700px){
 header nav{order:3;flex-basis:100%;overflow-x:auto;flex-wrap:nowrap}
 header nav a{white-space:nowrap}
 .grid2{grid-template-columns:1fr}
 table.cards-sm thead{display:none}
 table.cards-sm tr{display:block;border-bottom:1px solid var(--line);padding:.4rem 0}
 table.cards-sm td{display:block;border:0;padding:.1rem .5rem}
 table.cards-sm td.num{text-align:left}
 table.cards-sm td[data-label]::before{content:attr(data-label) ": ";color:var(--muted)}
 main{padding:.6rem}
 #seed-record,#verify-checks{grid-template-columns:1fr;gap:0}
 #seed-record dd,#verify-checks dd{margin-bottom:.35rem}
}
"#;

const JS: &str = r#"
// Enhancements only: every form works without this file.
document.addEventListener('submit', function (ev) {
  var f = ev.target;
  var msg = f.getAttribute('data-confirm');
  if (msg && !window.confirm(msg)) { ev.preventDefault(); return; }
  // The import: send with a progress bar, then show the answer page.
  if (f.getAttribute('data-progress') !== null && window.XMLHttpRequest && window.FormData) {
    ev.preventDefault();
    var bar = document.getElementById('import-progress');
    if (bar) { bar.hidden = false; bar.value = 0; }
    var x = new XMLHttpRequest();
    x.open('POST', f.action);
    x.upload.onprogress = function (e) { if (bar && e.lengthComputable) bar.value = e.loaded / e.total; };
    x.onload = function () { document.open(); document.write(x.responseText); document.close(); };
    x.send(new FormData(f));
  }
});
"#;

fn asset(kind: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// `GET /console/assets/console.css`.
pub async fn css() -> HttpResponse {
    asset("text/css; charset=utf-8", CSS)
}

/// `GET /console/assets/console.js`.
pub async fn js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", JS)
}
