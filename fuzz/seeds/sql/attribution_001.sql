SELECT m.channel,
       round(f.revenue) AS first_touch,
       round(l.revenue) AS last_touch,
       round(lin.revenue) AS linear,
       round(p.revenue) AS position_based,
       round(t.revenue) AS time_decay,
       round(s.revenue) AS shapley,
       round(m.revenue) AS markov
FROM channel_attribution('touchpoints', 'orders', model => 'markov') m
JOIN channel_attribution('touchpoints', 'orders', model => 'first_touch') f ON f.channel = m.channel
JOIN channel_attribution('touchpoints', 'orders', model => 'last_touch') l ON l.channel = m.channel
JOIN channel_attribution('touchpoints', 'orders', model => 'linear') lin ON lin.channel = m.channel
JOIN channel_attribution('touchpoints', 'orders', model => 'position_based') p ON p.channel = m.channel
JOIN channel_attribution('touchpoints', 'orders', model => 'time_decay') t ON t.channel = m.channel
JOIN channel_attribution('touchpoints', 'orders', model => 'shapley') s ON s.channel = m.channel
ORDER BY markov DESC, m.channel