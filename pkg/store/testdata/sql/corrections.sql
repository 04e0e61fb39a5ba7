SELECT id, reading_id, site, parameter, interval_kind, observed_at, observed_ms, value, previous,
    reason, actor, actor_role, at, at_ms
FROM `riverwatch`.`corrections` FINAL
WHERE site = 'STH-S2' AND observed_at >= toDateTime(1769862615) AND observed_at < toDateTime(1772454615)
ORDER BY at DESC, at_ms DESC, id LIMIT 100, 101
