SELECT id, site, mn, qn, cn, data_time, received_at, received_ms, remote, raw, reading_ids
FROM `riverwatch`.`raw_frames` FINAL
WHERE site = 'STH-S2' AND data_time >= toDateTime(1769862615) AND data_time < toDateTime(1772454615)
ORDER BY data_time, id LIMIT 500001
