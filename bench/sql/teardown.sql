-- bench/sql/teardown.sql: drop what setup.sql and leaderboard_setup.sql made
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS kvbench CASCADE;
