-- Markov-chain attribution with ROI by channel.
SELECT channel, round(conversions, 1) AS orders_credited, round(revenue) AS revenue, round(roi, 2) AS roi
FROM channel_attribution('touchpoints', 'orders', model => 'markov',
                         lookback => INTERVAL '30 days', cost_column => 'cost')
ORDER BY revenue DESC;
