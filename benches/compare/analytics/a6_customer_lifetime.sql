-- Customer lifetime value by acquisition channel: buyers share, mean and percentiles
-- (percentile_cont) of revenue per customer, orders per customer.
WITH ltv AS (
    SELECT c.customer_id, c.acquisition_channel,
           COUNT(o.order_id) AS orders,
           CAST(COALESCE(SUM(o.total), 0) AS DOUBLE PRECISION) AS revenue
    FROM customers c
    LEFT JOIN orders o ON o.customer_id = c.customer_id
    GROUP BY c.customer_id, c.acquisition_channel
)
SELECT acquisition_channel,
       COUNT(*) AS customers,
       SUM(CASE WHEN orders > 0 THEN 1 ELSE 0 END) AS buyers,
       AVG(orders) AS avg_orders,
       AVG(revenue) AS avg_ltv,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY revenue) AS p50_ltv,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY revenue) AS p90_ltv,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY revenue) AS p99_ltv,
       MAX(revenue) AS max_ltv
FROM ltv
GROUP BY acquisition_channel
ORDER BY acquisition_channel
