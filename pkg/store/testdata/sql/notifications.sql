SELECT id, key, incident_id, step_id, kind, channel, recipient, subject, body,
    attempt, status, error, drill, at, at_ms
FROM `riverwatch`.`notifications` FINAL WHERE incident_id = 'inc-sth-s2-nh3n' ORDER BY at, at_ms, key, attempt
