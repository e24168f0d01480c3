"""With the Python client that openapi-python-client generated from the
served spec (package `kiemtra_client` on PYTHONPATH): an inspector of the
demo signs in, syncs (full, then delta) and posts one minutes with a photo.
Usage: clients_smoke.py BASE_URL USERNAME PASSWORD"""
import datetime
import hashlib
import io
import struct
import sys
import uuid
import zlib

from kiemtra_client import AuthenticatedClient, Client
from kiemtra_client.api.assignments import list_team_assignments
from kiemtra_client.api.auth import login
from kiemtra_client.api.inspections import create_inspection, get_inspection, put_inspection_attachment
from kiemtra_client.models import LoginRequest, NewInspection
from kiemtra_client.types import File

base, username, password = sys.argv[1:4]


def check(resp, *statuses):
    if resp.status_code not in statuses:
        sys.exit(f"unexpected {resp.status_code}: {resp.content[:500]!r}")
    return resp.parsed


tokens = check(login.sync_detailed(client=Client(base_url=base),
                                   body=LoginRequest.from_dict({"username": username, "password": password})), 200)
me = tokens.user
api = AuthenticatedClient(base_url=base, token=tokens.access_token)
team = uuid.UUID(str(me.team_id))

page = check(list_team_assignments.sync_detailed(team, client=api, limit=500), 200)
open_ones = [a for a in page.items if str(a.status.value if hasattr(a.status, "value") else a.status) in ("pending", "scheduled")]
assert open_ones, "the demo team has open assignments"
delta = check(list_team_assignments.sync_detailed(team, client=api, since=page.sync_token), 200)
assert delta.items == [], "nothing changed since the full fetch"
a = open_ones[0]

now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
minutes_id = uuid.uuid4()
body = NewInspection.from_dict({
    "id": str(minutes_id),
    "assignment_id": str(a.id),
    "establishment_id": str(a.establishment.id),
    "team_id": str(team),
    "started_at": (now - datetime.timedelta(hours=1)).isoformat(),
    "finished_at": now.isoformat(),
    "members_present": [str(me.id)],
    "outcome": "no_violation",
    "notes": "posted by the generated Python client",
    "checklist": {"licence": True},
    "violations": [],
})
check(create_inspection.sync_detailed(client=api, body=body), 201)
check(create_inspection.sync_detailed(client=api, body=body), 200)


def png_1x1():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


photo = png_1x1()
sha = hashlib.sha256(photo).hexdigest()
check(put_inspection_attachment.sync_detailed(minutes_id, sha, client=api,
                                              body=File(payload=io.BytesIO(photo), mime_type="image/png")), 201)
stored = check(get_inspection.sync_detailed(minutes_id, client=api), 200)
assert stored.attachments == [sha], stored.attachments
print(f"generated Python client: signed in as {username}, synced {len(page.items)} assignments, "
      f"posted minutes {minutes_id} with a photo")
