DROP TABLE establishments;
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE org_units;
