SELECT site, parameter,
    argMax(id, (observed_at, observed_ms, version)), argMax(value, (observed_at, observed_ms, version)),
    argMax(unit, (observed_at, observed_ms, version)), argMax(flag, (observed_at, observed_ms, version)),
    argMax(interval_kind, (observed_at, observed_ms, version)), argMax(source, (observed_at, observed_ms, version)),
    max(observed_at), argMax(observed_ms, (observed_at, observed_ms, version)),
    argMax(below_dl, (observed_at, observed_ms, version)), max(received_at)
FROM `riverwatch`.`readings`
WHERE site IN ('STH-S2', 'STH-S2') AND observed_at >= toDateTime(1769862615)
GROUP BY site, parameter
ORDER BY site, parameter
