SELECT channel,
       count(DISTINCT session_id) AS sessions,
       safe_divide(count(DISTINCT session_id) FILTER (WHERE event_type = 'purchase'),
                   count(DISTINCT session_id)) AS conversion_rate
FROM events
GROUP BY channel
ORDER BY conversion_rate DESC