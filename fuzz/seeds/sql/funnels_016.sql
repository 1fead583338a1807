SELECT dimension AS channel, step_number, step, users,
       round(conversion_from_previous, 3) AS from_previous,
       round(conversion_from_first, 3) AS from_first,
       round(median_seconds_from_previous) AS median_seconds
FROM funnel_report('events', 'customer_id', 'ts', 'event_type',
                   'view,add_to_cart,checkout,purchase', INTERVAL '7 days', 'channel')
ORDER BY channel, step_number