WITH features AS (
  SELECT customer_id,
         date_part('epoch', (SELECT max(ts) FROM orders) - max(ts)) / 86400 AS days_since_last,
         count(*) AS orders,
         sum(total) AS revenue
  FROM orders
  GROUP BY customer_id
),
scored AS (
  SELECT *,
         ntile(5) OVER (ORDER BY days_since_last DESC, customer_id) AS r,
         ntile(5) OVER (ORDER BY orders, customer_id) AS f,
         ntile(5) OVER (ORDER BY revenue, customer_id) AS m
  FROM features
)
SELECT rfm_segment(r, f, m) AS segment,
       count(*) AS customers,
       round(avg(days_since_last)) AS avg_days_since_last,
       round(avg(orders), 1) AS avg_orders,
       round(avg(revenue)) AS avg_revenue
FROM scored
GROUP BY 1
ORDER BY avg_revenue DESC