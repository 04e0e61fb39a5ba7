SELECT site, parameter, toStartOfMonth(day) AS m, sum(value_sum) / sum(valid), sum(valid), min(value_min), max(value_max)
FROM `riverwatch`.`readings_daily` FINAL
WHERE site IN ('STH-S2', 'TTH-S1') AND day >= toDate('2026-01-01') AND day <= toDate('2026-03-31') AND valid > 0
GROUP BY site, parameter, m
ORDER BY site, parameter, m
