SELECT level, count(*) AS customers
FROM (
  SELECT customer_id,
         window_funnel(INTERVAL '7 days', ts,
                       event_type = 'view', event_type = 'add_to_cart',
                       event_type = 'checkout', event_type = 'purchase') AS level
  FROM events
  GROUP BY customer_id
)
GROUP BY level
ORDER BY level