SELECT id, site, mn, command, rtd_interval_s, min_interval_min, requested_by, requested_role, reason,
    incident_id, ttl_s, at, at_ms, status, status_at, status_ms, gateway, qn, qn_rtn, exe_rtn, attempts, detail,
    pol_id, info_id, report
FROM `riverwatch`.`station_commands` FINAL
WHERE site = 'STH-S2' AND at >= toDateTime(1769862615) AND at < toDateTime(1772454615)
ORDER BY at DESC, at_ms DESC, id, status_at, status_ms, status, gateway LIMIT 101
