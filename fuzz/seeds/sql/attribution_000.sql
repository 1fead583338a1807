SELECT channel, journeys,
       round(conversions, 1) AS orders_credited,
       round(revenue, 0) AS revenue_credited,
       round(cost, 0) AS cost,
       round(roi, 2) AS roi,
       round(cost_per_conversion, 2) AS cost_per_order
FROM channel_attribution('touchpoints', 'orders', model => 'markov',
                         lookback => INTERVAL '30 days', cost_column => 'cost')
ORDER BY revenue_credited DESC, channel