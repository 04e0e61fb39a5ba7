SELECT parameter, unit, hour, toUInt16(0), value_sum / valid, value_min, value_max, valid, '', toUInt8(0)
FROM `riverwatch`.`readings_hourly` FINAL
WHERE site = 'STH-S2' AND parameter IN ('codmn', 'codmn') AND hour >= toDateTime(1769860800) AND hour < toDateTime(1772454615) AND valid > 0
ORDER BY parameter, hour
LIMIT 5001 BY parameter
