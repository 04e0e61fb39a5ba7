SELECT parameter, unit, toDateTime(day, 'UTC'), toUInt16(0), value_sum / valid, value_min, value_max, valid, '', toUInt8(0)
FROM `riverwatch`.`readings_daily` FINAL
WHERE site = 'STH-S2' AND day >= toDate('2026-01-31') AND day <= toDate('2026-03-02') AND valid > 0
ORDER BY parameter, day

