-- one new event per transaction (TABLE is replaced by the script)
\set u random(0, 19999)
INSERT INTO TABLE VALUES (:u, now(), 1, '{"event": "new", "kind": "view", "ref": "0123456789abcdef0123456789abcdef", "client": "web"}');
