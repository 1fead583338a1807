SELECT array_to_string(s['items'], ', ') AS products,
       cardinality(s['items']) AS size,
       s['count'] AS orders,
       round(s['support'], 4) AS support
FROM (SELECT unnest(frequent_itemsets(order_id, product_id, 0.001, 3)) AS s FROM order_items)
WHERE cardinality(s['items']) >= 2
ORDER BY s['count'] DESC, products
LIMIT 10