DROP TABLE inspection_attachments;
DROP TABLE attachments;
DROP TABLE violations;
DROP TABLE inspection_versions;
DROP TABLE inspections;
DROP TABLE violation_types;
