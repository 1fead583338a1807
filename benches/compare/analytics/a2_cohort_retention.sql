-- Monthly cohort retention matrix: customers by month of first order, share of each cohort
-- ordering again 0..12 months later.
WITH firsts AS (
    SELECT customer_id, MIN(ts) AS first_ts
    FROM orders
    GROUP BY customer_id
), activity AS (
    SELECT o.customer_id,
           CAST(date_trunc('month', f.first_ts) AS DATE) AS cohort,
           (CAST(EXTRACT(YEAR FROM o.ts) AS INTEGER) - CAST(EXTRACT(YEAR FROM f.first_ts) AS INTEGER)) * 12
             + CAST(EXTRACT(MONTH FROM o.ts) AS INTEGER) - CAST(EXTRACT(MONTH FROM f.first_ts) AS INTEGER)
             AS month_offset
    FROM orders o
    JOIN firsts f ON f.customer_id = o.customer_id
), sizes AS (
    SELECT cohort, COUNT(DISTINCT customer_id) AS cohort_size
    FROM activity
    WHERE month_offset = 0
    GROUP BY cohort
)
SELECT a.cohort, a.month_offset, s.cohort_size,
       COUNT(DISTINCT a.customer_id) AS active_customers,
       CAST(COUNT(DISTINCT a.customer_id) AS DOUBLE PRECISION) / s.cohort_size AS retention
FROM activity a
JOIN sizes s ON s.cohort = a.cohort
WHERE a.month_offset <= 12
GROUP BY a.cohort, a.month_offset, s.cohort_size
ORDER BY a.cohort, a.month_offset
