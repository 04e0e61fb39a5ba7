SELECT site, parameter, toStartOfMonth(day) AS m, sum(value_sum) / sum(valid), sum(valid), min(value_min), max(value_max),
    sum(below_dl), sum(auto_valid), if(sum(auto_valid) > 0, sum(auto_sum) / sum(auto_valid), 0),
    minIf(auto_min, auto_valid > 0), maxIf(auto_max, auto_valid > 0), sum(auto_below_dl)
FROM `riverwatch`.`readings_daily` FINAL
WHERE site IN ('STH-S2', 'TTH-S1') AND day >= toDate('2026-01-01') AND day <= toDate('2026-03-31') AND valid > 0
GROUP BY site, parameter, m
ORDER BY site, parameter, m
