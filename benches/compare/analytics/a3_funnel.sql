-- 4-step funnel view -> add_to_cart -> checkout -> purchase, each step after the previous one
-- and within 7 days of the customer's first view (self-joins of events), by acquisition channel.
WITH step1 AS (
    SELECT customer_id, MIN(ts) AS t1
    FROM events
    WHERE event_type = 'view'
    GROUP BY customer_id
), step2 AS (
    SELECT s.customer_id, s.t1, MIN(e.ts) AS t2
    FROM step1 s
    JOIN events e ON e.customer_id = s.customer_id
    WHERE e.event_type = 'add_to_cart' AND e.ts >= s.t1 AND e.ts <= s.t1 + INTERVAL '7 days'
    GROUP BY s.customer_id, s.t1
), step3 AS (
    SELECT s.customer_id, s.t1, MIN(e.ts) AS t3
    FROM step2 s
    JOIN events e ON e.customer_id = s.customer_id
    WHERE e.event_type = 'checkout' AND e.ts >= s.t2 AND e.ts <= s.t1 + INTERVAL '7 days'
    GROUP BY s.customer_id, s.t1
), step4 AS (
    SELECT s.customer_id, MIN(e.ts) AS t4
    FROM step3 s
    JOIN events e ON e.customer_id = s.customer_id
    WHERE e.event_type = 'purchase' AND e.ts >= s.t3 AND e.ts <= s.t1 + INTERVAL '7 days'
    GROUP BY s.customer_id
)
SELECT c.acquisition_channel,
       COUNT(s1.customer_id) AS viewed,
       COUNT(s2.customer_id) AS carted,
       COUNT(s3.customer_id) AS checked_out,
       COUNT(s4.customer_id) AS purchased,
       CAST(COUNT(s4.customer_id) AS DOUBLE PRECISION) / COUNT(s1.customer_id) AS conversion
FROM step1 s1
JOIN customers c ON c.customer_id = s1.customer_id
LEFT JOIN step2 s2 ON s2.customer_id = s1.customer_id
LEFT JOIN step3 s3 ON s3.customer_id = s1.customer_id
LEFT JOIN step4 s4 ON s4.customer_id = s1.customer_id
GROUP BY c.acquisition_channel
ORDER BY c.acquisition_channel
