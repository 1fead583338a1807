-- Funnels, retention, sequences, sessions and paths on the demo shop (ClickHouse-compatible
-- window_funnel / retention / sequence_match / sequence_count, plus sessionize, event_path and
-- the funnel_report table function).

-- 1. Channel funnel health: view -> cart -> checkout -> purchase within 7 days, per traffic
--    channel, as a ready-made report a BI tool can chart without writing aggregates.
SELECT dimension AS channel, step_number, step, users,
       round(conversion_from_previous, 3) AS from_previous,
       round(conversion_from_first, 3) AS from_first,
       round(median_seconds_from_previous) AS median_seconds
FROM funnel_report('events', 'customer_id', 'ts', 'event_type',
                   'view,add_to_cart,checkout,purchase', INTERVAL '7 days', 'channel')
ORDER BY channel, step_number;

-- The same funnel written with the aggregate: how many customers stop at each step.
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
ORDER BY level;

-- Stricter reading: no other event may interrupt the path, and each step must come strictly later.
SELECT count(*) FILTER (WHERE level = 4) AS uninterrupted_buyers, count(*) AS customers
FROM (
  SELECT customer_id,
         window_funnel(INTERVAL '1 day', 'strict_order, strict_increase', ts,
                       event_type = 'view', event_type = 'add_to_cart',
                       event_type = 'checkout', event_type = 'purchase') AS level
  FROM events
  GROUP BY customer_id
);

-- Time between steps for a few customers (window_funnel_times: the reached steps' times).
SELECT customer_id, window_funnel_times(INTERVAL '7 days', ts, event_type = 'add_to_cart',
                                         event_type = 'purchase') AS step_times
FROM events
WHERE customer_id <= 5
GROUP BY customer_id
ORDER BY customer_id;

-- 2. 30-day repurchase by acquisition channel: retention(first order, another order within 30 days).
WITH o AS (
  SELECT customer_id, ts, min(ts) OVER (PARTITION BY customer_id) AS first_ts FROM orders
)
SELECT c.acquisition_channel,
       count(*) AS buyers,
       sum(CASE WHEN r[2] THEN 1 ELSE 0 END) AS repurchased_30d,
       round(avg(CASE WHEN r[2] THEN 1.0 ELSE 0.0 END), 3) AS repurchase_rate
FROM (
  SELECT customer_id,
         retention(ts = first_ts, ts > first_ts AND ts <= first_ts + INTERVAL '30 days') AS r
  FROM o
  GROUP BY customer_id
) x
JOIN customers c USING (customer_id)
GROUP BY c.acquisition_channel
ORDER BY repurchase_rate DESC;

-- 3. Top paths before the first purchase: the last 4 marketing channels touched, repeats collapsed.
WITH first_order AS (SELECT customer_id, min(ts) AS first_ts FROM orders GROUP BY customer_id)
SELECT path, count(*) AS buyers
FROM (
  SELECT t.customer_id, event_path(t.ts, t.channel, 4, true) AS path
  FROM touchpoints t JOIN first_order f ON t.customer_id = f.customer_id AND t.ts < f.first_ts
  GROUP BY t.customer_id
)
GROUP BY path
ORDER BY buyers DESC, path
LIMIT 10;

-- 4. Cart abandonment: carted, then bought within an hour (sequence_match with a time constraint),
--    and how often a customer did view -> purchase (sequence_count, non-overlapping).
SELECT count(*) FILTER (WHERE bought_within_hour) AS carted_and_bought_within_1h,
       count(*) AS customers,
       sum(view_to_purchase) AS view_to_purchase_sequences
FROM (
  SELECT customer_id,
         sequence_match('(?1)(?t<=3600)(?2)', ts, event_type = 'add_to_cart', event_type = 'purchase')
           AS bought_within_hour,
         sequence_count('(?1).*(?2)', ts, event_type = 'view', event_type = 'purchase')
           AS view_to_purchase
  FROM events
  GROUP BY customer_id
);

-- 5. Sessions: a new session after 30 minutes of inactivity; events and purchases per session.
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
);
