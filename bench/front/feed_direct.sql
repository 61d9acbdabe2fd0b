-- latest 20 events of a random user, straight from the widecol table
\set u random(0, 19999)
SELECT coalesce(json_agg(e ORDER BY e.ts DESC), '[]')
  FROM (SELECT ts, kind, payload FROM kvbench.events
         WHERE user_id = :u ORDER BY ts DESC LIMIT 20) e;
