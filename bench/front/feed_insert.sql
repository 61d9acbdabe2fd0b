-- a new event for a random user (its cached feed is invalidated at commit)
\set u random(0, 19999)
INSERT INTO kvbench.events VALUES (:u, now(), 1, '{"kind": "new", "text": "something happened just now"}');
