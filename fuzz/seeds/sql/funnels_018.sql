SELECT count(*) FILTER (WHERE level = 4) AS uninterrupted_buyers, count(*) AS customers
FROM (
  SELECT customer_id,
         window_funnel(INTERVAL '1 day', 'strict_order, strict_increase', ts,
                       event_type = 'view', event_type = 'add_to_cart',
                       event_type = 'checkout', event_type = 'purchase') AS level
  FROM events
  GROUP BY customer_id
)