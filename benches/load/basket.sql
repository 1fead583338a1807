-- Top "bought together" rules.
SELECT array_to_string(r['antecedent'], ' + ') AS if_bought,
       array_to_string(r['consequent'], ' + ') AS then_bought,
       round(r['lift'], 1) AS lift
FROM (SELECT unnest(association_rules(order_id, product_id, 0.001, 0.05)) AS r FROM order_items)
ORDER BY r['lift'] DESC, if_bought, then_bought
LIMIT 20;
