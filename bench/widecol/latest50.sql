-- latest 50 events of a random user (TABLE is replaced by the script)
\set u random(0, 19999)
SELECT * FROM TABLE WHERE user_id = :u ORDER BY ts DESC LIMIT 50;
