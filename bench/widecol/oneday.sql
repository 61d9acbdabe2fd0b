-- one day of events of a random user (TABLE is replaced by the script)
\set u random(0, 19999)
\set d random(0, DAYS)
SELECT * FROM TABLE WHERE user_id = :u
   AND ts >= timestamptz '2026-01-01' + :d * interval '1 day'
   AND ts < timestamptz '2026-01-01' + (:d + 1) * interval '1 day';
