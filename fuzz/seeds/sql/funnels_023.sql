SELECT round(avg(events), 2) AS events_per_session,
       round(avg(CASE WHEN purchases > 0 THEN 1.0 ELSE 0.0 END), 4) AS sessions_with_purchase,
       count(*) AS sessions
FROM (
  SELECT customer_id, session, count(*) AS events,
         count(*) FILTER (WHERE event_type = 'purchase') AS purchases
  FROM (
    SELECT customer_id, event_type,
           sessionize(ts, INTERVAL '30 minutes') OVER (PARTITION BY customer_id ORDER BY ts) AS session
    FROM events
  )
  GROUP BY customer_id, session
)