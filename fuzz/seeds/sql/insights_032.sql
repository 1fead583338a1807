SELECT rank, segment,
       round(baseline_value, 4) AS conversion_before,
       round(comparison_value, 4) AS conversion_during,
       round(effect, 4) AS effect_on_total,
       round(contribution, 2) AS share_of_change,
       round(mix_effect, 4) AS mix, round(rate_effect, 4) AS rate,
       baseline_rows AS sessions_before, comparison_rows AS sessions_during
FROM explain_change('session_outcomes', 'sum(converted) / count(*)', 'region, channel, device',
                    'period', 'before', 'dip', max_depth => 2, top_k => 10)
ORDER BY rank