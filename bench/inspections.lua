-- wrk script: POST /api/v1/inspections, a surprise inspection (no
-- assignment_id) with a fresh random UUID v4 id per request, by an inspector
-- of the team, of an establishment inside the team's jurisdiction, outcome
-- violations_found with three violations from the catalogue.
--
-- Environment: BENCH_TOKEN (the inspector's access token), BENCH_TEAM (team
-- id), BENCH_MEMBER (the inspector's user id), BENCH_EST_FILE (establishment
-- ids inside the team's jurisdiction, one per line).

local token = os.getenv("BENCH_TOKEN")
local team = os.getenv("BENCH_TEAM")
local member = os.getenv("BENCH_MEMBER")
local est_file = os.getenv("BENCH_EST_FILE")

local ests = {}
local headers = {}
local random = math.random

local function seed_from_urandom(salt)
  local f = io.open("/dev/urandom", "rb")
  local s = 0
  if f then
    local b = f:read(6)
    f:close()
    for i = 1, #b do s = s * 256 + b:byte(i) end
  end
  math.randomseed(s + os.time() + salt)
  -- Discard the first values (LuaJIT's generator warms up with the seed).
  for _ = 1, 16 do random() end
end

local function uuid4()
  return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
    random(0, 0xffff), random(0, 0xffff),
    random(0, 0xffff),
    random(0, 0x0fff),
    random(0, 0x3fff) + 0x8000,
    random(0, 0xffff), random(0, 0xffff), random(0, 0xffff))
end

-- A time `secs_ago` seconds before now, written at +07:00 (Viet Nam).
local function vn_time(secs_ago)
  return os.date("!%Y-%m-%dT%H:%M:%S", os.time() - secs_ago + 7 * 3600) .. "+07:00"
end

local counter = 0

function init(args)
  counter = counter + 1
  seed_from_urandom(counter * 7919 + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
  for line in io.lines(est_file) do
    if #line > 0 then ests[#ests + 1] = line end
  end
  headers["Authorization"] = "Bearer " .. token
  headers["Content-Type"] = "application/json"
end

local fmt = [[{"id":"%s","establishment_id":"%s","team_id":"%s","started_at":"%s","finished_at":"%s","members_present":["%s"],"outcome":"violations_found","notes":"Kiểm tra đột xuất","violations":[{"code":"GUEST_REGISTER","sanction":"warning"},{"code":"LABOUR_CONTRACT","sanction":"fine","fine_vnd":5000000},{"code":"STAFF_REGISTER","sanction":"fine","fine_vnd":2000000}]}]]

function request()
  local ago = random(2 * 3600, 30 * 86400)
  local body = string.format(fmt, uuid4(), ests[random(1, #ests)], team,
    vn_time(ago + 3600), vn_time(ago), member)
  return wrk.format("POST", "/api/v1/inspections", headers, body)
end
