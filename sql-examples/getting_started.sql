-- Getting started with the demo shop (run with: psql -h 127.0.0.1 -p 5432 -U sightline -f sql-examples/getting_started.sql)

-- Marketing touches by channel.
SELECT channel, count(*) AS touches, round(sum(cost), 2) AS cost
FROM touchpoints
GROUP BY channel
ORDER BY touches DESC;

-- Monthly revenue and order count.
SELECT date_trunc('month', ts) AS month, count(*) AS orders, sum(total) AS revenue
FROM orders
GROUP BY 1
ORDER BY 1;

-- Session conversion by channel: sessions that ended in a purchase.
SELECT channel,
       count(DISTINCT session_id) AS sessions,
       safe_divide(count(DISTINCT session_id) FILTER (WHERE event_type = 'purchase'),
                   count(DISTINCT session_id)) AS conversion_rate
FROM events
GROUP BY channel
ORDER BY conversion_rate DESC;

-- What the planner does with a join.
EXPLAIN SELECT c.region, sum(o.total) FROM orders o JOIN customers c USING (customer_id) GROUP BY c.region;
