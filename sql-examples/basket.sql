-- "Bought this, also bought": frequent itemsets, association rules and per-item recommendations
-- over the demo shop's order lines (metrics as mlxtend's association_rules defines them).

-- 1. The strongest rules across all orders: which products pull which others into the basket.
--    support = share of orders holding both sides, confidence = P(consequent | antecedent),
--    lift = confidence / P(consequent). Product ids are shown with their names.
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
LIMIT 20;

-- 2. Rules within each category (baskets = the category's lines of each order; support is
--    relative to the orders that bought anything in that category). Top 3 per category by lift,
--    keeping only rules that beat chance (lift > 1).
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
ORDER BY category, rank;

-- 3. Frequent itemsets: the product combinations (up to 3 items) most often in one order.
SELECT array_to_string(s['items'], ', ') AS products,
       cardinality(s['items']) AS size,
       s['count'] AS orders,
       round(s['support'], 4) AS support
FROM (SELECT unnest(frequent_itemsets(order_id, product_id, 0.001, 3)) AS s FROM order_items)
WHERE cardinality(s['items']) >= 2
ORDER BY s['count'] DESC, products
LIMIT 10;

-- 4. The "also bought" list for the five best sellers, as plain rows a storefront or BI table
--    can read directly (named arguments are optional: positional 5, 0.0005 works too).
--    also_bought ranks by confidence, like a "customers also bought" shelf; the lift filter
--    drops partners that are merely popular everywhere.
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
ORDER BY b.units DESC, p.name, a.rank;
