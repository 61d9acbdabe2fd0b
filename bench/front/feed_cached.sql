-- latest 20 events of a random user through the cache (kvbench.feed does
-- kv.get_or_load with the query of feed_direct.sql as the loader)
\set u random(0, 19999)
SELECT kvbench.feed(:u);
