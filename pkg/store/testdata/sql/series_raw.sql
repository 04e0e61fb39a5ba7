SELECT parameter, unit, observed_at, observed_ms, value,
    ifNull(value_min, value), ifNull(value_max, value), toUInt64(1), flag, below_dl
FROM `riverwatch`.`readings` FINAL
WHERE site = 'STH-S2' AND observed_at >= toDateTime(1769862615) AND observed_at < toDateTime(1772454615)
ORDER BY parameter, observed_at, observed_ms

