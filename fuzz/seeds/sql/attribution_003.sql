WITH journeys AS (
  SELECT t.customer_id,
         array_agg(t.channel ORDER BY t.ts, t.channel) AS path,
         CASE WHEN max(o.orders) > 0 THEN 1 ELSE 0 END AS converted,
         COALESCE(max(o.revenue), 0) AS revenue
  FROM touchpoints t
  LEFT JOIN (SELECT customer_id, count(*) AS orders, sum(total) AS revenue
             FROM orders GROUP BY customer_id) o ON o.customer_id = t.customer_id
  GROUP BY t.customer_id
)
SELECT c['channel'] AS channel,
       round(c['removal_effect'], 3) AS removal_effect,
       round(c['conversions'], 1) AS customers_credited,
       round(c['conversion_value'], 0) AS revenue_credited
FROM (SELECT unnest(markov_attribution(path, converted, revenue, 1 - converted, 2)) AS c
      FROM journeys)
ORDER BY c['conversions'] DESC, channel