-- Funnel depth per customer (ClickHouse-style windowFunnel), then the level distribution.
\set hours random(1, 168)
SELECT level, count(*) AS customers
FROM (
  SELECT customer_id,
         window_funnel(CAST(:hours || ' hours' AS INTERVAL), ts,
                       event_type = 'view', event_type = 'add_to_cart',
                       event_type = 'checkout', event_type = 'purchase') AS level
  FROM events
  GROUP BY customer_id
)
GROUP BY level ORDER BY level;
