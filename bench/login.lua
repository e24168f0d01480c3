-- wrk script: POST /api/v1/auth/login with BENCH_USER / BENCH_PASSWORD
-- (the server runs with LOGIN_ATTEMPTS_PER_MINUTE raised for this test).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"username":"%s","password":"%s"}',
  os.getenv("BENCH_USER"), os.getenv("BENCH_PASSWORD"))
