-- Multi-touch attribution on the demo shop: which channel really earned the revenue?
-- (rule-based weights, the Markov-chain model computed exactly, the Shapley model, and the
-- channel_attribution table function for BI tools.)

-- 1. The ROI-by-channel table: every order's journey is the customer's touches in the 30 days
--    before it; the data-driven Markov model credits the revenue; cost is the touchpoints' cost.
--    Compare paid_search (search ads), short_video and qa_community.
SELECT channel, journeys,
       round(conversions, 1) AS orders_credited,
       round(revenue, 0) AS revenue_credited,
       round(cost, 0) AS cost,
       round(roi, 2) AS roi,
       round(cost_per_conversion, 2) AS cost_per_order
FROM channel_attribution('touchpoints', 'orders', model => 'markov',
                         lookback => INTERVAL '30 days', cost_column => 'cost')
ORDER BY revenue_credited DESC, channel;

-- 2. The same revenue under every model, side by side: last touch over-credits the closing
--    channels, first touch the openers; Markov and Shapley read the whole journey.
SELECT m.channel,
       round(f.revenue) AS first_touch,
       round(l.revenue) AS last_touch,
       round(lin.revenue) AS linear,
       round(p.revenue) AS position_based,
       round(t.revenue) AS time_decay,
       round(s.revenue) AS shapley,
       round(m.revenue) AS markov
FROM channel_attribution('touchpoints', 'orders', model => 'markov') m
JOIN channel_attribution('touchpoints', 'orders', model => 'first_touch') f ON f.channel = m.channel
JOIN channel_attribution('touchpoints', 'orders', model => 'last_touch') l ON l.channel = m.channel
JOIN channel_attribution('touchpoints', 'orders', model => 'linear') lin ON lin.channel = m.channel
JOIN channel_attribution('touchpoints', 'orders', model => 'position_based') p ON p.channel = m.channel
JOIN channel_attribution('touchpoints', 'orders', model => 'time_decay') t ON t.channel = m.channel
JOIN channel_attribution('touchpoints', 'orders', model => 'shapley') s ON s.channel = m.channel
ORDER BY markov DESC, m.channel;

-- 3. Per-touch weights with the window function, on journeys written in plain SQL: each order's
--    touches in the 14 days before it, time-decay credit with a 3-day half-life.
WITH order_touches AS (
  SELECT o.order_id, o.total, t.channel, t.ts
  FROM orders o
  JOIN touchpoints t ON t.customer_id = o.customer_id
                    AND t.ts <= o.ts AND t.ts >= o.ts - INTERVAL '14 days'
),
weighted AS (
  SELECT channel, total,
         attribution_weight('time_decay', ts, INTERVAL '3 days') OVER (PARTITION BY order_id) AS w
  FROM order_touches
)
SELECT channel, round(sum(w), 1) AS orders_credited, round(sum(total * w), 0) AS revenue_credited
FROM weighted
GROUP BY channel
ORDER BY revenue_credited DESC, channel;

-- 4. The Markov model by hand, order 2 (states are pairs of consecutive channels): removal
--    effects say how much conversion probability is lost without each channel. Journeys: every
--    customer's touches (as a list, in time order), converted if they ever ordered.
WITH journeys AS (
  SELECT t.customer_id,
         array_agg(t.channel ORDER BY t.ts, t.channel) AS path,
         CASE WHEN max(o.orders) > 0 THEN 1 ELSE 0 END AS converted,
         COALESCE(max(o.revenue), 0) AS revenue
  FROM touchpoints t
  LEFT JOIN (SELECT customer_id, count(*) AS orders, sum(total) AS revenue
             FROM orders GROUP BY customer_id) o ON o.customer_id = t.customer_id
  GROUP BY t.customer_id
)
SELECT c['channel'] AS channel,
       round(c['removal_effect'], 3) AS removal_effect,
       round(c['conversions'], 1) AS customers_credited,
       round(c['conversion_value'], 0) AS revenue_credited
FROM (SELECT unnest(markov_attribution(path, converted, revenue, 1 - converted, 2)) AS c
      FROM journeys)
ORDER BY c['conversions'] DESC, channel;
