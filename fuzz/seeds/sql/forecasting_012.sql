CREATE OR REPLACE VIEW category_daily_revenue AS
SELECT p.category, CAST(date_trunc('day', o.ts) AS DATE) AS day,
       sum(i.quantity * i.unit_price - i.discount) AS revenue
FROM order_items i
JOIN orders o ON o.order_id = i.order_id
JOIN products p ON p.product_id = i.product_id
WHERE o.ts >= TIMESTAMP '2025-01-01'
GROUP BY p.category, CAST(date_trunc('day', o.ts) AS DATE)