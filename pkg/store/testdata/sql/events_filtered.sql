SELECT id, type, site, river, parameter, value, limit_value, target_class, class, multiple,
    severity, reason, observed_at, observed_ms, emitted_at, reading_id, reading_received_at,
    origin_site, origin_event_id, arrival_at, predicted_value, distance_km,
    verification_outcome, verification_threshold, rise_at, peak_at, fall_at,
    rise_error_s, peak_time_error_s, peak_error, duration_error_s FROM `riverwatch`.`events` FINAL WHERE observed_at >= toDateTime(1769862615) AND observed_at < toDateTime(1772454615) AND site IN ('STH-S2', 'TTH-S1') AND type IN ('exceedance.opened', 'exceedance.opened') ORDER BY observed_at DESC, observed_ms DESC, id LIMIT 100, 50
