WITH rules AS (
  SELECT unnest(association_rules(order_id, product_id, 0.001, 0.05)) AS r
  FROM order_items
)
SELECT array_to_string(r['antecedent'], ' + ') AS if_bought,
       array_to_string(r['consequent'], ' + ') AS then_bought,
       a.name AS if_bought_name,
       c.name AS then_bought_name,
       round(r['support'], 4) AS support,
       round(r['confidence'], 3) AS confidence,
       round(r['lift'], 1) AS lift,
       r['count'] AS orders
FROM rules
LEFT JOIN products a ON cardinality(r['antecedent']) = 1
                    AND a.product_id = CAST(r['antecedent'][1] AS BIGINT)
LEFT JOIN products c ON cardinality(r['consequent']) = 1
                    AND c.product_id = CAST(r['consequent'][1] AS BIGINT)
ORDER BY r['lift'] DESC, r['confidence'] DESC, if_bought, then_bought
LIMIT 20