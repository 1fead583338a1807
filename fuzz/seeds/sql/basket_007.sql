WITH best_sellers AS (
  SELECT product_id, sum(quantity) AS units
  FROM order_items
  GROUP BY product_id
  ORDER BY units DESC, product_id
  LIMIT 5
)
SELECT p.name AS product, b.units, a.rank, r.name AS also_bought,
       round(a.confidence, 3) AS confidence, round(a.lift, 1) AS lift, a.count AS orders
FROM also_bought('order_items', 'order_id', 'product_id', top_n => 5, min_support => 0.0005) a
JOIN best_sellers b ON a.item = CAST(b.product_id AS TEXT)
JOIN products p ON p.product_id = b.product_id
JOIN products r ON r.product_id = CAST(a.recommended_item AS BIGINT)
WHERE a.lift > 1
ORDER BY b.units DESC, p.name, a.rank