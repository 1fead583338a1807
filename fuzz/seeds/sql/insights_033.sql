SELECT rank, segment, round(baseline_value) AS revenue_october, round(comparison_value) AS revenue_november,
       round(effect) AS change, round(contribution, 2) AS share_of_change
FROM explain_change(
  '(SELECT o.total, o.channel, c.region, CAST(date_trunc(''month'', o.ts) AS DATE) AS month
    FROM orders o JOIN customers c ON c.customer_id = o.customer_id)',
  'sum(total)', 'region, channel', 'month', '2025-10-01', '2025-11-01', top_k => 5)
ORDER BY rank