WITH weekly AS (
  SELECT week, avg(converted) AS conversion, count(*) AS sessions
  FROM session_outcomes GROUP BY week
),
reference AS (
  SELECT avg(conversion) AS mean, stddev_pop(conversion) AS sd
  FROM weekly WHERE week < DATE '2025-11-17'
)
SELECT week, sessions, round(conversion, 4) AS conversion,
       round((conversion - mean) / NULLIF(sd, 0), 1) AS z,
       (conversion - mean) / NULLIF(sd, 0) < -2 AS dip
FROM weekly CROSS JOIN reference
ORDER BY week