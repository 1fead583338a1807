SELECT channel, count(*) AS touches, round(sum(cost), 2) AS cost
FROM touchpoints
GROUP BY channel
ORDER BY touches DESC