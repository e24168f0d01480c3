DROP TABLE assignments;
DROP TABLE change_counter;
DROP TABLE draw_rounds;
DROP TABLE plans;
