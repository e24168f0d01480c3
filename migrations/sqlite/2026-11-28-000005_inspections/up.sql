-- Inspection minutes: never edited in place; each correction is a version.
CREATE TABLE violation_types (
    code         TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    legal_basis  TEXT NOT NULL,
    min_fine_vnd BIGINT,
    max_fine_vnd BIGINT,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE inspections (
    id               TEXT PRIMARY KEY,
    establishment_id TEXT NOT NULL REFERENCES establishments (id),
    team_id          TEXT NOT NULL REFERENCES teams (id),
    assignment_id    TEXT REFERENCES assignments (id),
    plan_id          TEXT REFERENCES plans (id),
    body_hash        TEXT NOT NULL,
    current_version  INTEGER NOT NULL,
    outcome          TEXT NOT NULL,
    finished_at      TIMESTAMP NOT NULL,
    violation_count  INTEGER NOT NULL,
    review_status    TEXT NOT NULL CHECK (review_status IN ('pending', 'accepted', 'returned')),
    review_comment   TEXT,
    reviewed_by      TEXT,
    reviewed_at      TIMESTAMP,
    clock_skew       BOOLEAN NOT NULL,
    distance_m       DOUBLE PRECISION,
    far_from_site    BOOLEAN NOT NULL,
    received_at      TIMESTAMP NOT NULL,
    created_by       TEXT NOT NULL REFERENCES users (id),
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX inspections_establishment_idx ON inspections (establishment_id);
CREATE INDEX inspections_team_idx ON inspections (team_id, finished_at);
CREATE INDEX inspections_plan_idx ON inspections (plan_id, finished_at);

CREATE TABLE inspection_versions (
    inspection_id   TEXT NOT NULL REFERENCES inspections (id),
    version         INTEGER NOT NULL,
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP NOT NULL,
    utc_offset_min  INTEGER NOT NULL,
    latitude        DOUBLE PRECISION,
    longitude       DOUBLE PRECISION,
    accuracy_m      DOUBLE PRECISION,
    members_present TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    notes           TEXT,
    checklist       TEXT,
    violations      TEXT NOT NULL,
    reason          TEXT,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (inspection_id, version)
);

CREATE TABLE violations (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    position      INTEGER NOT NULL,
    code          TEXT NOT NULL REFERENCES violation_types (code),
    sanction      TEXT NOT NULL,
    fine_vnd      BIGINT,
    PRIMARY KEY (inspection_id, position)
);

CREATE TABLE attachments (
    sha256       TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE TABLE inspection_attachments (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    sha256        TEXT NOT NULL REFERENCES attachments (sha256),
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (inspection_id, sha256)
);

-- The default catalogue for this domain (fines in VND).
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('GUEST_REGISTER', 'Không lập, không ghi sổ theo dõi khách lưu trú / Guest register not kept', 'Nghị định 144/2021/NĐ-CP, Điều 9', 500000, 1000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('GUEST_NOT_DECLARED', 'Không thông báo lưu trú cho công an / Guests not declared to the police', 'Nghị định 144/2021/NĐ-CP, Điều 9', 1000000, 2000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('LABOUR_CONTRACT', 'Không giao kết hợp đồng lao động bằng văn bản / Staff without written labour contracts', 'Nghị định 12/2022/NĐ-CP, Điều 9', 2000000, 25000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('STAFF_REGISTER', 'Không lập sổ quản lý lao động / No staff register', 'Nghị định 12/2022/NĐ-CP, Điều 8', 1000000, 10000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('KARAOKE_DOOR', 'Phòng karaoke có chốt cài cửa, cửa không trong suốt / Karaoke room door locked or not transparent', 'Nghị định 38/2021/NĐ-CP, Điều 15', 10000000, 15000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('KARAOKE_LIGHT', 'Ánh sáng phòng karaoke dưới 10 lux / Karaoke room lighting below 10 lux', 'Nghị định 38/2021/NĐ-CP, Điều 15', 10000000, 15000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('KARAOKE_HOURS', 'Kinh doanh karaoke quá giờ (0h–8h) / Karaoke open between midnight and 8 a.m.', 'Nghị định 38/2021/NĐ-CP, Điều 15', 5000000, 10000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('LICENCE_MISSING', 'Kinh doanh không có giấy phép / Operating without a licence', 'Nghị định 38/2021/NĐ-CP, Điều 15', 15000000, 20000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('SECURITY_CONDITIONS', 'Không bảo đảm điều kiện an ninh trật tự / Security and order conditions not met', 'Nghị định 144/2021/NĐ-CP, Điều 12', 3000000, 5000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('SOLICITING', 'Môi giới, chứa chấp, lôi kéo mua bán dâm tại cơ sở / Soliciting or harbouring prostitution on the premises', 'Nghị định 144/2021/NĐ-CP, Điều 25–27', 10000000, 40000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('MASSAGE_PRIVATE_ROOM', 'Phòng xoa bóp có khóa trong, không bảo đảm quy định / Massage room lockable from inside', 'Nghị định 117/2020/NĐ-CP, Điều 35', 3000000, 5000000, CURRENT_TIMESTAMP);
INSERT INTO violation_types (code, title, legal_basis, min_fine_vnd, max_fine_vnd, created_at) VALUES ('OTHER', 'Vi phạm khác / Other violation', '(ghi rõ trong mô tả)', NULL, NULL, CURRENT_TIMESTAMP);
