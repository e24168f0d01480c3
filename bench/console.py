#!/usr/bin/env python3
"""Benchmarks the web console's pages (issue 17): p99 at 8 concurrent users
and bytes transferred, on the 200,000-establishment registry.

    bench/console.py            # writes bench/RESULTS-console.md

Needs the release binary (`cargo build --release`; CARGO_TARGET_DIR is
respected), a PostgreSQL server that `postgres` reaches on 127.0.0.1:5432
without a password (BENCH_PG overrides), `psql` and `wrk`. It creates a fresh
database `kiemtra_console_<time>_<pid>`, imports the 2024 units and
`kiemtra generate --communes all --establishments 200000 --seed 1`, makes an
admin and a supervisor of the largest province (BENCH_PROVINCE, default 38),
the province's teams with one inspector each, the province's plan for the
current year (drawn), 300 minutes of its assignments (one in three posted far
from the establishment, so the review queue has flagged ones), `VACUUM ANALYZE`
(what autovacuum does within a minute of such a load), then signs in
to the console as the supervisor (and the admin for the admin-only pages) and
runs `wrk -t2 -c8 --latency` on every page with `Accept-Encoding: gzip`,
BENCH_DURATION seconds each (default 10). The server, the database and the
scratch directory are removed at the end, whatever happens, unless
BENCH_KEEP_DB=1 (the database is kept and its name printed); BENCH_DB=<name>
measures such a kept database again without building the data (the server
migrates it first, so a kept data set serves a later build). BENCH_ONLY=<regex>
measures only the pages whose name or address matches, and then prints the
rows without writing the results file.

BENCH_WRITES_PER_SEC=<n> measures the pages while the district teams' leaders
post minutes of open assignments of the plan through the API at n per second
(one writer, round robin over the districts), as on a campaign day: every
post moves the server's write generation, so no page can serve counts kept
from before it (docs/caching.md). The section is appended to the results
file (with the posts made and refused) instead of replacing it.

BENCH_BACKLOG=<n> posts n more minutes of open assignments while building the
data (four clients, one in three far from the site) and leaves them
unreviewed: the pages measured over a review backlog of thousands, as after
weeks in which no supervisor reviewed.
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("BENCH_BIN", os.path.join(TARGET, "release", "kiemtra"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PROVINCE = os.environ.get("BENCH_PROVINCE", "38")
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
RESULTS = os.environ.get("BENCH_RESULTS", os.path.join(ROOT, "bench", "RESULTS-console.md"))
PASSWORD = "bench-console-password"
REUSE = os.environ.get("BENCH_DB")
DB = REUSE or f"kiemtra_console_{int(time.time())}_{os.getpid()}"
ONLY = os.environ.get("BENCH_ONLY")
KEEP = bool(REUSE) or os.environ.get("BENCH_KEEP_DB") == "1"
WRITES = float(os.environ.get("BENCH_WRITES_PER_SEC", "0"))
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "0"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PORT = free_port()


def run(*args, stdin=None, env=None):
    t0 = time.perf_counter()
    subprocess.run(args, input=stdin, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


class Http:
    """One keep-alive connection; JSON or form bodies; cookies kept."""

    def __init__(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
        self.cookies = {}

    def call(self, method, path, body=None, token=None, form=None, expect=None):
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        raw = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";")[0]
                if value and "Max-Age=0" not in v:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
        if expect is not None and r.status != expect:
            raise SystemExit(f"{method} {path}: {r.status} {raw[:500]!r}")
        ctype = r.getheader("Content-Type") or ""
        if ctype.startswith("application/json"):
            return r.status, json.loads(raw or b"null")
        return r.status, raw.decode("utf-8", "replace")


def login(user):
    _, body = Http().call("POST", "/api/v1/auth/login", {"username": user, "password": PASSWORD}, expect=200)
    return body["access_token"], body["user"]["id"]


def console_cookie(user):
    h = Http()
    _, page = h.call("GET", "/console/login", expect=200)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    h.call("POST", "/console/login", form={"csrf_token": token, "username": user, "password": PASSWORD, "next": "/console/"}, expect=303)
    return h.cookies["kiemtra_console"]


def wrk(path, cookie):
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{DURATION}s", "--latency", "-H", f"Cookie: kiemtra_console={cookie}",
         "-H", "Accept-Encoding: gzip", f"http://127.0.0.1:{PORT}{path}"],
        check=True, capture_output=True, text=True).stdout
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return float(p99.group(1)) * scale, rate, int(errors.group(1)) if errors else 0


def size(path, cookie):
    c = http.client.HTTPConnection("127.0.0.1", PORT)
    c.request("GET", path, headers={"Cookie": f"kiemtra_console={cookie}", "Accept-Encoding": "gzip"})
    r = c.getresponse()
    body = r.read()
    head = sum(len(k) + len(v) + 4 for k, v in r.getheaders()) + 20
    return r.status, len(body) + head, r.getheader("Content-Encoding") or "identity"


def build_data(url):
    """The province's teams (one inspector each), its plan (drawn) and 300
    minutes, through the API; returns (districts, teams, plan id, minutes)."""
    admin, _ = login("admin")
    api = Http()
    # The province's teams, one inspector each.
    _, units = api.call("GET", f"/api/v1/org-units?parent={PROVINCE}&limit=500", token=admin, expect=200)
    districts = [u["code"] for u in units["items"]]
    teams = {}
    for code, level in [(PROVINCE, "province")] + [(d, "district") for d in districts]:
        _, t = api.call("POST", "/api/v1/teams", {"name": f"Đội 178 {code}", "level": level, "org_unit_code": code}, token=admin, expect=201)
        teams[code] = t["id"]
        _, u = api.call("POST", "/api/v1/users", {"username": f"doi-{code}", "password": PASSWORD, "full_name": f"Đội trưởng {code}",
                                                   "role": "inspector", "org_unit_code": code}, token=admin, expect=201)
        api.call("POST", f"/api/v1/teams/{t['id']}/members", {"user_id": u["id"], "agency": "police", "is_leader": True}, token=admin, expect=201)
    year = datetime.now(timezone(timedelta(hours=7))).year
    _, plan = api.call("POST", "/api/v1/plans", {"name": f"Kế hoạch {year}", "year": year, "org_unit_code": PROVINCE}, token=admin, expect=201)
    api.call("POST", f"/api/v1/plans/{plan['id']}/draw", {}, token=admin, expect=200)
    # 300 minutes over the district teams, one in three far from the site.
    posted = 0
    for code in districts:
        token, uid = login(f"doi-{code}")
        _, page = api.call("GET", f"/api/v1/teams/{teams[code]}/assignments", token=token, expect=200)
        for a in page["items"][: max(1, 300 // len(districts))]:
            status = post_minutes(api, (token, uid, teams[code], a), far=posted % 3 == 0)
            assert status == 201, f"POST /api/v1/inspections: {status}"
            posted += 1
    if BACKLOG > 0:
        posted += backlog(districts, teams, BACKLOG)
    # What autovacuum does by itself within a minute or so of loading this
    # much (its insert threshold): statistics, and the visibility map that
    # lets the coverage counts and the registry's pages read their covering
    # indexes alone (index-only scans) instead of every row's page.
    subprocess.run(["psql", url, "-qXc", "VACUUM ANALYZE"], check=True)
    return districts, teams, plan["id"], posted


def open_work(districts, teams):
    """The open assignments of the district teams, round robin over the
    districts: (leader's token, leader's id, team id, assignment)."""
    api = Http()
    queues = []
    for code in districts:
        token, uid = login(f"doi-{code}")
        items, cursor = [], None
        while True:
            after = f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""
            _, page = api.call("GET", f"/api/v1/teams/{teams[code]}/assignments?limit=500{after}", token=token, expect=200)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        open_ones = [a for a in items if a["status"] in ("pending", "scheduled")]
        queues.append([(token, uid, teams[code], a) for a in open_ones])
    return [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]


def post_minutes(api, work_item, far=False):
    """Posts one minutes of an open assignment; returns the status."""
    token, uid, team, a = work_item
    finished = datetime.now(timezone(timedelta(hours=7))) - timedelta(minutes=30)
    body = {"id": str(uuid.uuid4()), "assignment_id": a["id"], "establishment_id": a["establishment"]["id"],
            "team_id": team, "started_at": (finished - timedelta(hours=1)).isoformat(),
            "finished_at": finished.isoformat(), "members_present": [uid], "outcome": "no_violation",
            "violations": []}
    if far:
        body["location"] = {"latitude": 10.0, "longitude": 106.0, "accuracy_m": 10}
    status, _ = api.call("POST", "/api/v1/inspections", body, token=token)
    return status


def backlog(districts, teams, count):
    """Posts `count` more minutes (one in three far from the site) with four
    clients, left unreviewed: a review backlog as after weeks without a
    supervisor's review."""
    work = open_work(districts, teams)[:count]
    done = {"posted": 0}
    lock = threading.Lock()

    def client(part):
        api = Http()
        for i, item in part:
            if post_minutes(api, item, far=i % 3 == 0) == 201:
                with lock:
                    done["posted"] += 1
    parts = [[(i, w) for i, w in enumerate(work) if i % 4 == k] for k in range(4)]
    threads = [threading.Thread(target=client, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done["posted"]


def writer(districts, teams, stop, stats):
    """Posts minutes of open assignments at WRITES per second until `stop`."""
    work = open_work(districts, teams)
    api = Http()
    start = time.perf_counter()
    for n, item in enumerate(work):
        if stop.is_set():
            break
        pause = start + n / WRITES - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        status = post_minutes(api, item)
        stats["posted" if status == 201 else "refused"] += 1
    stats["elapsed"] = time.perf_counter() - start


def kept_data(url):
    """What build_data made, read back from a kept database."""
    def q(sql):
        out = subprocess.run(["psql", url, "-qXtAF", "\t", "-c", sql], check=True, capture_output=True, text=True).stdout
        return [l.split("\t") for l in out.splitlines() if l]
    districts = [c for (c,) in q(f"SELECT code FROM org_units WHERE parent_code = '{PROVINCE}' ORDER BY code")]
    teams = dict(q(f"SELECT org_unit_code, id FROM teams WHERE name LIKE 'Đội 178 %'"))
    [(pid,)] = q(f"SELECT id FROM plans WHERE org_unit_code = '{PROVINCE}' AND status = 'drawn' LIMIT 1")
    [(posted,)] = q("SELECT COUNT(*) FROM inspections WHERE review_status = 'pending'")
    return districts, teams, pid, int(posted)


def main():
    scratch = tempfile.mkdtemp(prefix="kiemtra-console-bench.")
    server = None
    url = f"{PG}/{DB}"
    env = dict(os.environ, DATABASE_URL=url, JWT_SECRET="console-bench-secret-console-bench-secret",
               LOGIN_ATTEMPTS_PER_MINUTE="10000")
    if not REUSE:
        subprocess.run(["psql", PG, "-qXc", f'CREATE DATABASE "{DB}"'], check=True)
    try:
        import_secs = None
        if not REUSE:
            run(BIN, "import", "org-units", os.path.join(ROOT, "data", "vn-admin-units-2024.csv"), env=env)
            reg = os.path.join(scratch, "reg.csv")
            run(BIN, "generate", "--communes", "all", "--establishments", "200000", "--seed", "1", "--out", reg, env=env)
            import_secs = run(BIN, "import", "establishments", reg, env=env)
            for user, role, unit in [("admin", "admin", None), ("giamsat", "supervisor", PROVINCE)]:
                args = [BIN, "user", "add", "--username", user, "--role", role, "--password-stdin"]
                if unit:
                    args += ["--org-unit", unit]
                run(*args, stdin=PASSWORD.encode(), env=env)
        server = subprocess.Popen([BIN, "serve", "--bind", f"127.0.0.1:{PORT}"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(scratch, "server.log"), "w"))
        for _ in range(600):
            try:
                if Http().call("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        if REUSE:
            districts, teams, pid, posted = kept_data(url)
        else:
            districts, teams, pid, posted = build_data(url)
        sup = console_cookie("giamsat")
        adm = console_cookie("admin")
        h = Http()
        h.cookies["kiemtra_console"] = sup
        _, queue = h.call("GET", "/console/review", expect=200)
        minutes = re.search(r'href="/console/inspections/([0-9a-f-]+)"', queue).group(1)
        _, est = h.call("GET", "/console/establishments", expect=200)
        one = re.search(r'href="/console/establishments/([0-9a-f-]+)"', est).group(1)
        pages = [
            ("Tổng quan", "/console/", sup),
            ("Duyệt biên bản", "/console/review", sup),
            ("one minutes", f"/console/inspections/{minutes}", sup),
            ("registry list", "/console/establishments", sup),
            ("registry search (no diacritics)", "/console/establishments?q=karaoke+hoa", sup),
            ("registry filtered", f"/console/establishments?org_unit={districts[0]}&business_type=karaoke&status=active", sup),
            ("establishment detail", f"/console/establishments/{one}", sup),
            ("import form", "/console/establishments/import", sup),
            ("plans", "/console/plans", sup),
            ("plan (warnings, teams)", f"/console/plans/{pid}", sup),
            ("plan: a team's schedule", f"/console/plans/{pid}?team_id={teams[districts[0]]}", sup),
            ("coverage drill-down (district)", f"/console/plans/{pid}/coverage?unit={districts[0]}", sup),
            ("teams", "/console/teams", sup),
            ("team", f"/console/teams/{teams[districts[0]]}", sup),
            ("reports", "/console/reports", sup),
            ("accounts (admin)", "/console/users", adm),
            ("audit (admin)", "/console/audit", adm),
            ("overview (admin, national)", "/console/", adm),
        ]
        rows = []
        stop, stats = threading.Event(), {"posted": 0, "refused": 0, "elapsed": 0.0}
        posting = None
        if WRITES > 0:
            posting = threading.Thread(target=writer, args=(districts, teams, stop, stats))
            posting.start()
            time.sleep(3)  # sign-ins and assignment lists first, then the pages
        if ONLY is not None:
            pages = [p for p in pages if re.search(ONLY, p[0]) or re.search(ONLY, p[1])]
        for name, path, cookie in pages:
            status, nbytes, enc = size(path, cookie)
            p99, rate, errors = wrk(path, cookie)
            ok = status == 200 and errors == 0 and p99 < 100 and nbytes < 150 * 1024
            rows.append((name, path, status, p99, rate, nbytes, enc, ok))
            print(f"{name:35} {status} p99 {p99:7.2f} ms {rate:8.1f} req/s {nbytes:8d} B {enc} {'PASS' if ok else 'MISS'}", flush=True)
        if posting:
            stop.set()
            posting.join()
            print(f"minutes posted meanwhile: {stats['posted']} ({stats['refused']} refused) in {stats['elapsed']:.0f} s", flush=True)
        if ONLY is not None:
            return
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        cpus = os.cpu_count()
        load = open("/proc/loadavg").read().split()[:3]
        with open(RESULTS, "a" if WRITES > 0 else "w") as f:
            if WRITES > 0:
                f.write(f"\n## While minutes are posted: {WRITES:g} per second\n\n")
                f.write(f"{stats['posted']} minutes of open assignments posted through the API during the measurements "
                        f"({stats['refused']} refused) in {stats['elapsed']:.0f} s, each one moving the write generation.\n\n")
            else:
                f.write("# Console benchmark\n\nWritten by `bench/console.py`. The release server, PostgreSQL and wrk on one machine over 127.0.0.1.\n\n")
            f.write("| | |\n|---|---|\n")
            f.write(f"| date | {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC |\n| machine | {cpus} CPUs |\n| commit | {commit} |\n")
            imported = f"imported in {import_secs:.1f} s" if import_secs else "a kept data set (BENCH_DB)"
            f.write(f"| data | 200,000 establishments (all 63 provinces), {imported}; province {PROVINCE}: {len(districts)} district teams + 1, plan drawn, {posted} minutes pending |\n")
            f.write(f"| load | wrk -t2 -c8 -d{DURATION}s (8 concurrent users), `Accept-Encoding: gzip`; load average at the end {' '.join(load)} |\n\n")
            f.write("Target: every page p99 < 100 ms and < 150 KB transferred (body as sent plus headers).\n\n")
            f.write("| page | address | status | p99 | rate | bytes | encoding | |\n|---|---|---|---|---|---|---|---|\n")
            for name, path, status, p99, rate, nbytes, enc, ok in rows:
                f.write(f"| {name} | `{path}` | {status} | {p99:.1f} ms | {rate:,.0f} req/s | {nbytes:,} | {enc} | {'PASS' if ok else 'MISS'} |\n")
        print("wrote", RESULTS)
    finally:
        if server:
            server.terminate()
            server.wait()
        if KEEP:
            print("kept database", DB)
        else:
            subprocess.run(["psql", PG, "-qXc", f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
