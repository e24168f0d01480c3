#!/usr/bin/env python3
"""Checks issue 19's "Done means" on the reports of a running demo server.

    bench/reports_check.py [--base http://127.0.0.1:8080] [--out DIR]
    bench/reports_check.py --bin target/release/kiemtra   # starts its own demo

(Beside `bench/reports`, the 1M-inspection benchmark, which is a script and
so cannot also be a folder.) Needs openpyxl (`pip install openpyxl`, in a
venv or with --user) and, for the LibreOffice and PDF checks, `soffice`,
`pdftotext`, `pdfinfo` and `pdftoppm`
(`apt-get install -y libreoffice-calc-nogui poppler-utils`).

It signs in as the demo's `admin` and `doi-tinh` (password
`kiemtra-demo-2016`), finds the seed plan of 2016, and WRITES to the server:
an establishment named like a formula (`=HYPERLINK(...)`) and a provincial
team's minutes of 20/06/2016 finding it refusing entry. Then it fetches the
Q2 and annual reports as JSON, XLSX, PDF and CSV and checks:

- the plan's number and issuing body: file names `bao-cao-KH20-2016-<period>.<ext>`;
- XLSX: the first sheet is the summary with the title block; dates are date
  cells; every sheet landscape, fit to one page wide, page numbers in the
  footer; the table sheets' header row repeated and frozen; no English
  business-type code or English violation title in any cell; period and
  year-to-date columns both labelled; the refusal is a visit, not an
  inspection (the inspected totals do not move, the refused visits do);
- the XLSX rendered by LibreOffice (`soffice --headless --convert-to pdf`):
  its pages are counted (landscape) and drawn as PNG (pdftoppm -r 60) under
  --out, and its text holds the title;
- the server's PDF: its text (pdftotext) holds the title with its diacritics
  and the same totals as the XLSX;
- CSV: a byte-order mark first, the formula-like name neutralised (no cell
  begins with = + - @ unless it is a number);
- JSON: timestamps with their offset.

Prints one line per check (PASS/FAIL) and exits 1 if any failed.
"""

import argparse
import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

try:
    import openpyxl
except ImportError:  # pragma: no cover - told to the user
    sys.exit("needs openpyxl: python3 -m pip install --user openpyxl (or in a venv)")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PASSWORD = "kiemtra-demo-2016"
BUSINESS_TYPES = [
    "karaoke", "dance_hall", "bar", "massage", "sauna", "spa", "hotel", "guest_house",
    "motel", "rental_apartment", "restaurant", "hair_salon", "cafe", "other",
]
ISSUING_BODY = "BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH"
NUMBER = "20/KH-BCĐ"

results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok)))
    shown = (f"  [{detail}]" if not ok else f"  ({detail})") if detail else ""
    print(f"{'PASS' if ok else 'FAIL'}  {name}{shown}")
    sys.stdout.flush()
    return ok


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, token=None, body=None, accept="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Accept", accept)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def json(self, method, path, token=None, body=None):
        s, _, b = self.call(method, path, token, body)
        if s >= 300:
            raise SystemExit(f"{method} {path}: HTTP {s}: {b[:400]!r}")
        return json.loads(b) if b else None

    def login(self, username):
        return self.json("POST", "/api/v1/auth/login",
                         body={"username": username, "password": PASSWORD})


def start_demo(binary, workdir):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = open(os.path.join(workdir, "demo.log"), "w")
    proc = subprocess.Popen(
        [binary, "demo", "--bind", f"127.0.0.1:{port}",
         "--demo-database-url", f"sqlite://{workdir}/demo.db"],
        cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return proc, base
        except Exception:
            if proc.poll() is not None:
                raise SystemExit("the demo server died: see " + log.name)
            time.sleep(0.2)
    raise SystemExit("the demo server did not answer")


def texts_of(wb):
    """Every string cell: (sheet, coordinate, value)."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    yield ws.title, c.coordinate, c.value


def int_vi(n):
    """1234567 -> 1.234.567 (as the PDF writes numbers)."""
    return f"{int(n):,}".replace(",", ".")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="http://127.0.0.1:8080")
    ap.add_argument("--bin", help="start `BIN demo` on a free port instead of using --base")
    ap.add_argument("--out", default=None, help="keep the files here (default: a temporary folder)")
    args = ap.parse_args()
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="kiemtra-check-"))
    os.makedirs(out, exist_ok=True)
    proc = None
    base = args.base
    if args.bin:
        proc, base = start_demo(os.path.abspath(args.bin), out)
    try:
        run(Api(base), out)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=20)
    failed = [n for n, ok in results if not ok]
    print(f"\n{len(results) - len(failed)} of {len(results)} checks passed; files in {out}")
    sys.exit(1 if failed else 0)


def run(api, out):
    admin = api.login("admin")["access_token"]
    plans = api.json("GET", "/api/v1/plans?limit=500", admin)["items"]
    plan = next(p for p in plans if p["year"] == 2016 and not p.get("rehearsal"))
    pid = plan["id"]
    check("the seed plan carries its number and issuing body",
          plan.get("number") == NUMBER and plan.get("issuing_body") == ISSUING_BODY,
          f"number={plan.get('number')!r}, issuing_body={plan.get('issuing_body')!r}")

    def report(period, accept="application/json"):
        s, h, b = api.call("GET", f"/api/v1/reports?plan_id={pid}&period={period}", admin,
                           accept=accept)
        if s != 200:
            raise SystemExit(f"report {period} {accept}: HTTP {s}: {b[:300]!r}")
        return h, b

    # --- A refusal at the door, of an establishment named like a formula -------
    before_q2 = json.loads(report("Q2")[1])
    before_year = json.loads(report("year")[1])
    some = api.json("GET", "/api/v1/establishments?limit=1", admin)["items"][0]
    formula = "=HYPERLINK(\"http://example.invalid\",\"Bấm vào đây\")"
    est = api.json("POST", "/api/v1/establishments", admin, {
        "licence_no": "CHK-" + uuid.uuid4().hex[:8], "name": formula,
        "business_type": "guest_house", "org_unit_code": some["org_unit_code"], "address": "Số 1"})
    insp = api.login("doi-tinh")
    api.json("POST", "/api/v1/inspections", insp["access_token"], {
        "id": str(uuid.uuid4()), "assignment_id": None, "establishment_id": est["id"],
        "team_id": insp["user"]["team_id"],
        "started_at": "2016-06-20T08:00:00+07:00", "finished_at": "2016-06-20T08:10:00+07:00",
        "members_present": [insp["user"]["id"]], "outcome": "refused_entry", "violations": []})

    def refused(r, key):
        return next(o for o in r["outcomes"] if o["outcome"] == "refused_entry")["visits"][key]

    q2 = json.loads(report("Q2")[1])
    year = json.loads(report("year")[1])
    check("a refused entry is a visit: refused visits +1 (Q2 and year to date)",
          refused(q2, "period") == refused(before_q2, "period") + 1
          and refused(year, "year_to_date") == refused(before_year, "year_to_date") + 1)
    check("a refused entry is not inspected: inspected unchanged (Q2, year)",
          q2["summary"]["inspected_in_period"] == before_q2["summary"]["inspected_in_period"]
          and year["summary"]["inspected"] == before_year["summary"]["inspected"],
          f"Q2 {before_q2['summary']['inspected_in_period']} -> {q2['summary']['inspected_in_period']}, "
          f"year {before_year['summary']['inspected']} -> {year['summary']['inspected']}")
    check("JSON timestamps carry their offset",
          re.search(r"[+-]\d\d:\d\d$", q2["generated_at"])
          and all(re.search(r"[+-]\d\d:\d\d$", o["finished_at"]) for o in q2["closed_or_refused"]),
          q2["generated_at"])
    check("the JSON title block names the issuing body, number and period",
          q2["title"]["issuer"][-1] == ISSUING_BODY
          and q2["title"]["subject"].startswith(f"Kết quả thực hiện Kế hoạch số {NUMBER}")
          and "Quý II năm 2016" in q2["title"]["subject"],
          json.dumps(q2["title"], ensure_ascii=False))

    vtypes = api.json("GET", "/api/v1/violation-types?limit=500", admin)
    vtypes = vtypes["items"] if isinstance(vtypes, dict) else vtypes
    english = [t["title"].split(" / ", 1)[1] for t in vtypes if " / " in t["title"]]
    english += [t[k] for t in vtypes for k in ("title_en", "english_title") if t.get(k)]

    for period, r in (("Q2", q2), ("year", year)):
        check_xlsx(report, period, r, english, out)
    check_csv(report, out, formula)


def check_xlsx(report, period, r, english, out):
    tag = f"[{period}]"
    h, body = report(period, XLSX)
    name = f"bao-cao-KH20-2016-{period}"
    check(f"{tag} XLSX file name is {name}.xlsx",
          f'filename="{name}.xlsx"' in h.get("content-disposition", ""),
          h.get("content-disposition"))
    path = os.path.join(out, f"{name}.xlsx")
    open(path, "wb").write(body)
    wb = openpyxl.load_workbook(path)
    first = wb.worksheets[0]
    strings = [c.value for row in first.iter_rows() for c in row if isinstance(c.value, str)]
    title_bits = [ISSUING_BODY, "Số:", "Ninh Bình, ngày", "BÁO CÁO",
                  f"Kết quả thực hiện Kế hoạch số {NUMBER}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]
    missing = [b for b in title_bits if not any(b in s for s in strings[:20])]
    check(f"{tag} first sheet is the summary ({first.title}) with the title block",
          first.title == "Tổng hợp" and not missing, f"missing {missing}")
    # Dates are dates: the period's bounds on the summary, the visit days of the table.
    dates = [c for row in first.iter_rows(max_row=12) for c in row if getattr(c, "is_date", False)]
    check(f"{tag} the period's dates are date cells on the summary",
          len(dates) >= 2 and all(isinstance(c.value, dt.datetime) for c in dates),
          f"{[c.coordinate for c in dates]}")
    refused_ws = next((ws for ws in wb.worksheets if ws.title.startswith("Đóng cửa")), None)
    if check(f"{tag} a sheet of the closed / refused visits", refused_ws is not None):
        col = [c.value for c in refused_ws[1]].index("Ngày kiểm tra") + 1
        cells = [refused_ws.cell(row=i, column=col) for i in range(2, refused_ws.max_row + 1)]
        check(f"{tag} every visit day is a date cell ({len(cells)} rows)",
              cells and all(c.is_date for c in cells),
              f"{[(c.coordinate, c.value) for c in cells if not c.is_date][:3]}")
    bad_setup = []
    for ws in wb.worksheets:
        ps, fit = ws.page_setup, ws.sheet_properties.pageSetUpPr
        # fitToWidth left out is 1, the schema's default (ECMA-376 §18.3.1.63):
        # rust_xlsxwriter writes only fitToHeight="0".
        if ps.orientation != "landscape" or not (fit and fit.fitToPage) \
                or ps.fitToWidth not in (None, 1, "1") or ps.fitToHeight not in (0, "0"):
            bad_setup.append(f"{ws.title}: {ps.orientation} fit={fit and fit.fitToPage} "
                             f"{ps.fitToWidth}x{ps.fitToHeight}")
        footer = "".join((p.text or "") for p in (ws.oddFooter.left, ws.oddFooter.center,
                                                   ws.oddFooter.right))
        if "&P" not in footer:
            bad_setup.append(f"{ws.title}: no page number in the footer ({footer!r})")
    check(f"{tag} every sheet landscape, one page wide, page numbers in the footer "
          f"({len(wb.worksheets)} sheets)", not bad_setup, "; ".join(bad_setup))
    tables = wb.worksheets[1:]
    check(f"{tag} table sheets repeat their header row when printed",
          all(ws.print_title_rows in ("1:1", "$1:$1") for ws in tables),
          str([(ws.title, ws.print_title_rows) for ws in tables]))
    check(f"{tag} table sheets freeze their header row",
          all(ws.freeze_panes == "A2" for ws in tables),
          str([(ws.title, ws.freeze_panes) for ws in tables]))
    english_cells = [(s, c, v) for s, c, v in texts_of(wb)
                     if v in BUSINESS_TYPES or re.search(r"\b[a-z]+_[a-z_]+\b", v)
                     or any(e and e in v for e in english) or " / " in v]
    check(f"{tag} no English business-type code or violation title in any cell",
          not english_cells,
          str(english_cells[:5]) if english_cells else f"{len(english)} English titles of the catalogue looked for")
    # Numbers are numbers: no count or amount stored as text (codes and
    # licence numbers are text on purpose).
    code_cols = {"Mã", "Mã xã", "Số giấy phép"}
    as_text = []
    for ws in wb.worksheets:
        heads = {}
        for row in ws.iter_rows():
            for c in row:
                v = getattr(c, "value", None)
                if v in code_cols:
                    heads[c.column] = v
                elif isinstance(v, str) and c.column not in heads \
                        and re.fullmatch(r"-?[\d.,]+( ?%)?", v.strip()):
                    as_text.append((ws.title, c.coordinate, v))
    check(f"{tag} numbers are number cells (no count stored as text)", not as_text, str(as_text[:5]))
    check(f"{tag} no formula in any cell",
          all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row))
    labels = " | ".join(strings)
    check(f"{tag} period and year-to-date columns both labelled on the summary",
          "Trong kỳ báo cáo" in labels and "Lũy kế từ đầu năm" in labels)
    # The inspected totals: the levels' "Tổng cộng" row (quota, period, year to date).
    rows = [[c.value for c in row] for row in first.iter_rows()]
    total_rows = [row for row in rows if row and row[0] == "Tổng cộng"]
    levels_total = total_rows[0] if total_rows else None
    ok = levels_total is not None and levels_total[3] == r["summary"]["inspected_in_period"] \
        and levels_total[4] == r["summary"]["inspected"]
    check(f"{tag} the XLSX's inspected totals are the report's (refusal not counted)", ok,
          f"{levels_total} vs inspected {r['summary']['inspected_in_period']} / "
          f"{r['summary']['inspected']}")

    # --- The server's PDF: title with diacritics, the same totals ---------------------
    h, pdf = report(period, "application/pdf")
    check(f"{tag} PDF file name is {name}.pdf",
          f'filename="{name}.pdf"' in h.get("content-disposition", ""))
    pdf_path = os.path.join(out, f"{name}.pdf")
    open(pdf_path, "wb").write(pdf)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", pdf_path, "-"], capture_output=True,
                              text=True, check=True).stdout
        flat = " ".join(text.split())
        want = [ISSUING_BODY, "BÁO CÁO", f"Kết quả thực hiện Kế hoạch số {NUMBER}",
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Lũy kế từ đầu năm"]
        missing = [w for w in want if w not in flat]
        check(f"{tag} the PDF's text holds the title with its diacritics", not missing,
              f"missing {missing}")
        pdf_totals = [" ".join(line.split()) for line in text.splitlines()
                      if line.strip().startswith("Tổng cộng")]
        # Counts and amounts as the PDF writes them (1.234.567); percentages
        # (two decimals in the XLSX) as the PDF rounds them (16,1 %).
        xlsx_totals = [[v for v in row[1:] if isinstance(v, (int, float)) and not isinstance(v, bool)]
                       for row in total_rows]

        def shown(v, tokens):
            return (v == int(v) and int_vi(v) in tokens) or f"{v:.1f}".replace(".", ",") in tokens

        same = len(pdf_totals) >= len(total_rows) and all(
            all(shown(v, p.split()) for v in x) for x, p in zip(xlsx_totals, pdf_totals))
        check(f"{tag} the PDF's 'Tổng cộng' rows hold the XLSX's totals", same,
              f"xlsx {xlsx_totals} pdf {pdf_totals}")
        pages = pdf_pages(pdf_path)
        check(f"{tag} the server's PDF: {pages} pages", pages > 0)
    else:
        check(f"{tag} pdftotext installed", False, "apt-get install -y poppler-utils")

    # --- The XLSX through LibreOffice: pages, text, PNGs to look at -------------------
    if shutil.which("soffice"):
        lo_dir = os.path.join(out, f"lo-{period}")
        os.makedirs(lo_dir, exist_ok=True)
        profile = tempfile.mkdtemp(prefix="kiemtra-lo-")
        t0 = time.time()
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                        "--convert-to", "pdf", "--outdir", lo_dir, path],
                       capture_output=True, timeout=300)
        shutil.rmtree(profile, ignore_errors=True)
        lo_pdf = os.path.join(lo_dir, f"{name}.pdf")
        if check(f"{tag} LibreOffice renders the XLSX to PDF ({time.time() - t0:.1f} s)",
                 os.path.exists(lo_pdf)):
            pages = pdf_pages(lo_pdf)
            sizes = page_sizes(lo_pdf)
            check(f"{tag} LibreOffice: {pages} pages, all landscape, for {len(wb.worksheets)} sheets",
                  pages >= len(wb.worksheets) and all(w > hh for w, hh in sizes), str(sizes[:3]))
            lo_text = " ".join(subprocess.run(["pdftotext", lo_pdf, "-"], capture_output=True,
                                              text=True).stdout.split())
            check(f"{tag} LibreOffice's PDF holds the title with its diacritics",
                  f"Kết quả thực hiện Kế hoạch số {NUMBER}" in lo_text and ISSUING_BODY in lo_text)
            if shutil.which("pdftoppm"):
                subprocess.run(["pdftoppm", "-png", "-r", "60", lo_pdf,
                                os.path.join(lo_dir, "page")], check=False)
    else:
        check(f"{tag} soffice installed", False, "apt-get install -y libreoffice-calc-nogui")


def pdf_pages(path):
    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True).stdout
    m = re.search(r"^Pages:\s+(\d+)", info, re.M)
    return int(m.group(1)) if m else 0


def page_sizes(path):
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", path], capture_output=True,
                          text=True).stdout
    return [(float(a), float(b)) for a, b in re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", info)]


def check_csv(report, out, formula):
    h, body = report("Q2", "text/csv")
    check("CSV file name is bao-cao-KH20-2016-Q2.csv",
          'filename="bao-cao-KH20-2016-Q2.csv"' in h.get("content-disposition", ""))
    open(os.path.join(out, "bao-cao-KH20-2016-Q2.csv"), "wb").write(body)
    check("CSV starts with a byte-order mark", body.startswith(b"\xef\xbb\xbf"))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    cells = [c for row in rows for c in row]
    check("CSV: the formula-like name is neutralised",
          ("'" + formula) in cells and formula not in cells,
          str([c for c in cells if "HYPERLINK" in c]))
    live = [c for c in cells
            if c[:1] in ("=", "+", "-", "@") and not re.fullmatch(r"-?\d+(\.\d+)?", c)]
    check("CSV: no cell begins with = + - @ (but numbers)", not live, str(live[:5]))


if __name__ == "__main__":
    main()
