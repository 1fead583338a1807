WITH weekly AS (
  SELECT c.region, CAST(date_trunc('week', e.ts) AS DATE) AS week,
         count(DISTINCT CASE WHEN e.event_type = 'purchase' THEN e.session_id END) * 1.0
           / count(DISTINCT e.session_id) AS conversion
  FROM events e JOIN customers c ON c.customer_id = e.customer_id
  WHERE e.ts >= TIMESTAMP '2025-03-03' AND e.ts < TIMESTAMP '2025-12-15'
  GROUP BY c.region, CAST(date_trunc('week', e.ts) AS DATE)
),
flagged AS (
  SELECT region, week, conversion,
         detect_anomaly(week, conversion, 1) OVER (PARTITION BY region ORDER BY week) AS a
  FROM weekly
)
SELECT region, week, round(conversion, 4) AS conversion, round(a['expected'], 4) AS expected,
       round(a['lo'], 4) AS lo, round(a['hi'], 4) AS hi,
       CASE WHEN conversion < a['lo'] THEN 'below' ELSE 'above' END AS direction
FROM flagged
WHERE a['is_anomaly']
ORDER BY week >= DATE '2025-11-17' DESC, region, week