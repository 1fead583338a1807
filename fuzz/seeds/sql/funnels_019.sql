SELECT customer_id, window_funnel_times(INTERVAL '7 days', ts, event_type = 'add_to_cart',
                                         event_type = 'purchase') AS step_times
FROM events
WHERE customer_id <= 5
GROUP BY customer_id
ORDER BY customer_id