SELECT channel, safe_divide(count(*) FILTER (WHERE used_coupon), count(*)) AS coupon_share
FROM orders
GROUP BY channel
ORDER BY channel