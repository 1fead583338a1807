-- Top 25 product pairs bought in the same order (self-join of order_items), with lift.
WITH pairs AS (
    SELECT a.product_id AS product_a, b.product_id AS product_b, COUNT(DISTINCT a.order_id) AS orders
    FROM order_items a
    JOIN order_items b ON b.order_id = a.order_id AND a.product_id < b.product_id
    GROUP BY a.product_id, b.product_id
), single AS (
    SELECT product_id, COUNT(DISTINCT order_id) AS orders
    FROM order_items
    GROUP BY product_id
), total AS (
    SELECT COUNT(DISTINCT order_id) AS n FROM order_items
)
SELECT p.product_a, pa.name AS name_a, p.product_b, pb.name AS name_b, p.orders,
       CAST(p.orders AS DOUBLE PRECISION) * t.n / (CAST(sa.orders AS DOUBLE PRECISION) * sb.orders) AS lift
FROM pairs p
JOIN single sa ON sa.product_id = p.product_a
JOIN single sb ON sb.product_id = p.product_b
JOIN products pa ON pa.product_id = p.product_a
JOIN products pb ON pb.product_id = p.product_b
CROSS JOIN total t
ORDER BY p.orders DESC, p.product_a, p.product_b
LIMIT 25
