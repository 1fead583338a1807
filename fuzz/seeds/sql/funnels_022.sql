SELECT count(*) FILTER (WHERE bought_within_hour) AS carted_and_bought_within_1h,
       count(*) AS customers,
       sum(view_to_purchase) AS view_to_purchase_sequences
FROM (
  SELECT customer_id,
         sequence_match('(?1)(?t<=3600)(?2)', ts, event_type = 'add_to_cart', event_type = 'purchase')
           AS bought_within_hour,
         sequence_count('(?1).*(?2)', ts, event_type = 'view', event_type = 'purchase')
           AS view_to_purchase
  FROM events
  GROUP BY customer_id
)