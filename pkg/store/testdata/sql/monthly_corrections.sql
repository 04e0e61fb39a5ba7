SELECT site, toStartOfMonth(toDate(observed_at, 'Asia/Shanghai')) AS m, uniqExact(reading_id), count()
FROM `riverwatch`.`corrections` FINAL
WHERE site IN ('STH-S2', 'TTH-S1') AND observed_at >= toDateTime(1767196800) AND observed_at < toDateTime(1774972800)
GROUP BY site, m
ORDER BY site, m
