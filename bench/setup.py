#!/usr/bin/env python3
"""Sets up the HTTP part of the benchmark through the API (stdlib only).

Against a running `kiemtra serve` on 127.0.0.1 with the 2024 units and the
synthetic registry imported:

1. logs in as the admin (BENCH_ADMIN_USER / BENCH_ADMIN_PASSWORD);
2. creates one province team per province and one district team per district;
3. creates inspectors and adds each as leader of some teams (the first
   BENCH_LEADERS province teams and district teams by code);
4. creates a plan per province (default shares 10 % / 40 %, stratified) and
   draws each one, timing every draw at the client;
5. picks the team with the most assignments, makes sure it has a leader,
   logs that inspector in, does one full fetch and one delta sync, lists
   establishments of its jurisdiction, checks the violation catalogue and
   posts one surprise inspection (what wrk will repeat).

Writes a JSON summary to the file given as the first argument, and the
establishment ids (one per line) to the second.
"""

import http.client
import json
import os
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

HOST = "127.0.0.1"
PORT = int(os.environ["BENCH_PORT"])
PASSWORD = os.environ["BENCH_ADMIN_PASSWORD"]
LEADERS = int(os.environ.get("BENCH_LEADERS", "8"))
YEAR = int(os.environ.get("BENCH_YEAR", "2024"))


class Api:
    def __init__(self):
        self.conn = None
        self.token = None

    def _connect(self):
        self.conn = http.client.HTTPConnection(HOST, PORT, timeout=600)

    def call(self, method, path, body=None, token=None, expect=None):
        """Returns (status, parsed body, seconds). Retries once if a reused
        keep-alive connection turns out to be closed before any answer."""
        headers = {"Accept": "application/json"}
        tok = token or self.token
        if tok:
            headers["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            try:
                t0 = time.perf_counter()
                self.conn.request(method, "/api/v1" + path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                dt = time.perf_counter() - t0
                break
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError, http.client.CannotSendRequest):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        if expect is not None and resp.status != expect:
            raise SystemExit(
                f"{method} {path}: expected {expect}, got {resp.status}: {raw[:2000]!r}")
        return resp.status, parsed, dt


def log(msg):
    print(f"[setup {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def all_pages(api, path):
    items, cursor = [], None
    sep = "&" if "?" in path else "?"
    while True:
        p = f"{path}{sep}limit=500" + (f"&cursor={cursor}" if cursor else "")
        _, body, _ = api.call("GET", p, expect=200)
        items.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def login(api, username, password):
    _, body, _ = api.call("POST", "/auth/login",
                          {"username": username, "password": password}, expect=200)
    return body["access_token"], body["user"]


def make_leader(api, team, n):
    """Creates inspector n and adds it to `team` as its leader."""
    username = f"bench-inspector-{n}"
    _, user, _ = api.call("POST", "/users", {
        "username": username, "password": PASSWORD, "full_name": f"Thanh tra {n}",
        "role": "inspector", "org_unit_code": team["org_unit_code"],
    }, expect=201)
    api.call("POST", f"/teams/{team['id']}/members", {
        "user_id": user["id"], "agency": "labour_social_affairs", "is_leader": True,
    }, expect=201)
    return username, user["id"]


def main():
    out_json, est_file = sys.argv[1], sys.argv[2]
    api = Api()
    t_start = time.perf_counter()
    api.token, _ = login(api, os.environ["BENCH_ADMIN_USER"], PASSWORD)

    provinces = all_pages(api, "/org-units?level=province")
    districts = all_pages(api, "/org-units?level=district")
    log(f"{len(provinces)} provinces, {len(districts)} districts")

    # --- Teams: level matches the unit's level. ----------------------------
    t0 = time.perf_counter()
    teams = {}
    for u in provinces + districts:
        _, t, _ = api.call("POST", "/teams", {
            "name": f"Đội kiểm tra liên ngành 178 {u['name']}",
            "level": u["level"], "org_unit_code": u["code"],
        }, expect=201)
        teams[t["id"]] = t
    teams_s = time.perf_counter() - t0
    log(f"{len(teams)} teams in {teams_s:.1f} s")

    # --- Leaders for some teams. -------------------------------------------
    t0 = time.perf_counter()
    by_unit = {t["org_unit_code"]: t for t in teams.values()}
    leaders = {}  # team id -> (username, user id)
    chosen = [by_unit[u["code"]] for u in sorted(provinces, key=lambda u: u["code"])[:LEADERS]]
    chosen += [by_unit[u["code"]] for u in sorted(districts, key=lambda u: u["code"])[:LEADERS]]
    for t in chosen:
        leaders[t["id"]] = make_leader(api, t, len(leaders) + 1)
    leaders_s = time.perf_counter() - t0
    log(f"{len(leaders)} inspectors added as leaders in {leaders_s:.1f} s")

    # --- One plan per province, then its draw, timed at the client. ---------
    draws = []
    assigned = {}  # team id -> assignments
    for p in sorted(provinces, key=lambda u: u["code"]):
        _, plan, _ = api.call("POST", "/plans", {
            "name": f"Kế hoạch kiểm tra {YEAR} {p['name']}", "year": YEAR,
            "org_unit_code": p["code"],
        }, expect=201)
        status, res, dt = api.call("POST", f"/plans/{plan['id']}/draw")
        if status != 200:
            raise SystemExit(f"draw of {p['code']}: {status} {res}")
        eligible = max((q["eligible"] for q in res["quotas"] if q["level"] == "province"),
                       default=0)
        draws.append({"province": p["code"], "plan_id": plan["id"], "seconds": dt,
                      "assignments": res["assignments"], "eligible": eligible})
        for q in res["quotas"]:
            assigned[q["team_id"]] = assigned.get(q["team_id"], 0) + q["assigned"]
    total = sum(d["seconds"] for d in draws)
    worst = max(draws, key=lambda d: d["seconds"])
    log(f"63 draws: total {total:.2f} s, max {worst['seconds']:.3f} s ({worst['province']})")

    # --- The busiest team, its inspector, and what wrk will do. --------------
    top_id = max(assigned, key=lambda t: (assigned[t], t))
    top = teams[top_id]
    if top_id not in leaders:
        leaders[top_id] = make_leader(api, top, len(leaders) + 1)
    username, inspector_id = leaders[top_id]
    itoken, _ = login(api, username, PASSWORD)

    _, full, full_s = api.call("GET", f"/teams/{top_id}/assignments?limit=500",
                               token=itoken, expect=200)
    pages, items, body = 1, len(full["items"]), full
    while body.get("next_cursor"):
        _, body, _ = api.call(
            "GET", f"/teams/{top_id}/assignments?limit=500&cursor={body['next_cursor']}",
            token=itoken, expect=200)
        pages += 1
        items += len(body["items"])
    sync_token = body["sync_token"]
    _, delta, _ = api.call("GET", f"/teams/{top_id}/assignments?since={sync_token}",
                           token=itoken, expect=200)
    if delta["items"]:
        raise SystemExit(f"delta sync right after a full fetch returned {len(delta['items'])} items")
    full_bytes = len(json.dumps(full, ensure_ascii=False).encode())

    ests = all_pages(api, f"/establishments?org_unit={top['org_unit_code']}&status=active")
    with open(est_file, "w") as f:
        for e in ests:
            f.write(e["id"] + "\n")

    _, vt, _ = api.call("GET", "/violation-types", token=itoken, expect=200)
    vtypes = vt["items"] if isinstance(vt, dict) else vt
    codes = {v["code"] for v in vtypes}
    for c in ("GUEST_REGISTER", "LABOUR_CONTRACT", "STAFF_REGISTER"):
        if c not in codes:
            raise SystemExit(f"violation type {c} is not in the catalogue: {sorted(codes)}")

    # One surprise inspection, the same body the wrk script sends.
    tz = timezone(timedelta(hours=7))
    fin = datetime.now(tz) - timedelta(days=1)
    sample = {
        "id": str(uuid.uuid4()), "establishment_id": ests[0]["id"], "team_id": top_id,
        "started_at": (fin - timedelta(hours=1)).isoformat(timespec="seconds"),
        "finished_at": fin.isoformat(timespec="seconds"),
        "members_present": [inspector_id], "outcome": "violations_found",
        "violations": [
            {"code": "GUEST_REGISTER", "sanction": "warning"},
            {"code": "LABOUR_CONTRACT", "sanction": "fine", "fine_vnd": 5000000},
            {"code": "STAFF_REGISTER", "sanction": "fine", "fine_vnd": 2000000},
        ],
    }
    status, res, post_s = api.call("POST", "/inspections", sample, token=itoken)
    if status != 201:
        raise SystemExit(f"POST /inspections: {status} {res}")

    summary = {
        "teams": len(teams), "province_teams": len(provinces), "district_teams": len(districts),
        "teams_seconds": teams_s, "leaders": len(leaders), "leaders_before_draws": len(chosen),
        "leaders_seconds": leaders_s,
        "draws": draws, "draw_total_s": total, "draw_max_s": worst["seconds"],
        "draw_max_province": worst["province"],
        "assignments_total": sum(d["assignments"] for d in draws),
        "top_team": {"id": top_id, "level": top["level"], "org_unit_code": top["org_unit_code"],
                     "assignments": assigned[top_id]},
        "full_fetch": {"items": items, "pages_at_limit_500": pages,
                       "first_page_items": len(full["items"]), "first_page_bytes": full_bytes,
                       "seconds": full_s},
        "sync_token": sync_token,
        "inspector": {"username": username, "id": inspector_id, "token": itoken},
        "establishments_in_jurisdiction": len(ests),
        "sample_post_seconds": post_s,
        "setup_seconds": time.perf_counter() - t_start,
    }
    with open(out_json, "w") as f:
        json.dump(summary, f, indent=1)
    log(f"busiest team {top['org_unit_code']} ({top['level']}): {assigned[top_id]} assignments; "
        f"{len(ests)} establishments in its jurisdiction")


if __name__ == "__main__":
    main()
