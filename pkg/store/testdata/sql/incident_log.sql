SELECT id, incident_id, version, at, at_ms, actor, action, detail, command_id FROM `riverwatch`.`incident_log` FINAL WHERE incident_id = 'inc-sth-s2-nh3n' ORDER BY at, at_ms, version, id
