WITH first_order AS (SELECT customer_id, min(ts) AS first_ts FROM orders GROUP BY customer_id)
SELECT path, count(*) AS buyers
FROM (
  SELECT t.customer_id, event_path(t.ts, t.channel, 4, true) AS path
  FROM touchpoints t JOIN first_order f ON t.customer_id = f.customer_id AND t.ts < f.first_ts
  GROUP BY t.customer_id
)
GROUP BY path
ORDER BY buyers DESC, path
LIMIT 10