SELECT id, type, site, river, parameter, value, limit_value, target_class, class, multiple,
    severity, reason, observed_at, observed_ms, emitted_at, reading_id, reading_received_at,
    origin_site, origin_event_id, arrival_at, predicted_value, distance_km,
    verification_outcome, verification_threshold, rise_at, peak_at, fall_at,
    rise_error_s, peak_time_error_s, peak_error, duration_error_s FROM `riverwatch`.`events` FINAL
WHERE id IN (
    SELECT argMax(id, (observed_at, observed_ms, emitted_at, type = 'exceedance.cleared'))
    FROM `riverwatch`.`events`
    WHERE site IN ('STH-S2', 'TTH-S1') AND type IN ('exceedance.opened', 'exceedance.updated', 'exceedance.cleared')
    GROUP BY site, parameter
) AND type != 'exceedance.cleared'
ORDER BY site, parameter
