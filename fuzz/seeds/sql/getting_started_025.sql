SELECT date_trunc('month', ts) AS month, count(*) AS orders, sum(total) AS revenue
FROM orders
GROUP BY 1
ORDER BY 1