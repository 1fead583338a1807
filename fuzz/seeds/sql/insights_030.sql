CREATE OR REPLACE VIEW session_outcomes AS
SELECT e.session_id, c.region, e.channel, e.device,
       CAST(date_trunc('week', min(e.ts)) AS DATE) AS week,
       CASE WHEN min(e.ts) >= TIMESTAMP '2025-11-17' THEN 'dip' ELSE 'before' END AS period,
       max(CASE WHEN e.event_type = 'purchase' THEN 1 ELSE 0 END) AS converted
FROM events e JOIN customers c ON c.customer_id = e.customer_id
WHERE e.ts >= TIMESTAMP '2025-10-20' AND e.ts < TIMESTAMP '2025-12-15'
GROUP BY e.session_id, c.region, e.channel, e.device