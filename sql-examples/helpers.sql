-- safe_divide(numerator, denominator): NULL instead of an error when the denominator is zero
-- (BigQuery's SAFE_DIVIDE).
SELECT safe_divide(10, 4) AS quarter_ten, safe_divide(1, 0) AS by_zero, safe_divide(NULL, 3) AS null_in;

-- Coupon share of orders per channel, safe for channels without orders.
SELECT channel, safe_divide(count(*) FILTER (WHERE used_coupon), count(*)) AS coupon_share
FROM orders
GROUP BY channel
ORDER BY channel;
