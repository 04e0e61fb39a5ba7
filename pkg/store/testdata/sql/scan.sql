SELECT id, site, station, parameter, value, unit, value_min, value_max, interval_kind, flag,
    observed_at, observed_ms, received_at, source, below_dl
FROM `riverwatch`.`readings` FINAL
WHERE observed_at >= toDateTime(1769862615) AND observed_at < toDateTime(1772454615)
ORDER BY observed_at, observed_ms, site, parameter
