WITH per_category AS (
  SELECT p.category, association_rules(oi.order_id, p.name, 0.002, 0.05, 2) AS rules
  FROM order_items oi JOIN products p USING (product_id)
  GROUP BY p.category
),
flat AS (
  SELECT category, unnest(rules) AS r FROM per_category
),
useful AS (
  SELECT category, r FROM flat WHERE r['lift'] > 1
),
ranked AS (
  SELECT category, r,
         row_number() OVER (PARTITION BY category
                            ORDER BY r['lift'] DESC, r['confidence'] DESC,
                                     array_to_string(r['antecedent'], ','),
                                     array_to_string(r['consequent'], ',')) AS k
  FROM useful
)
SELECT category, k AS rank,
       r['antecedent'][1] AS if_bought,
       r['consequent'][1] AS then_bought,
       round(r['confidence'], 3) AS confidence,
       round(r['lift'], 1) AS lift,
       r['count'] AS orders
FROM ranked
WHERE k <= 3
ORDER BY category, rank