DROP TABLE activities;
DROP TABLE plan_indicators;
