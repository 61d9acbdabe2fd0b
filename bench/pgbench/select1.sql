-- protocol ceiling: the cheapest statement the server can answer
SELECT 1;
