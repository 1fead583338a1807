-- A BI dashboard tile: one customer's orders, and daily revenue of a recent window.
\set cid random(1, 50000)
\set days random(7, 60)
SELECT count(*) AS orders, coalesce(sum(total), 0) AS revenue FROM orders WHERE customer_id = :cid;
SELECT date_trunc('day', ts) AS day, count(*) AS orders, sum(total) AS revenue
FROM orders
WHERE ts >= (SELECT max(ts) FROM orders) - CAST(:days || ' days' AS INTERVAL)
GROUP BY 1 ORDER BY 1;
