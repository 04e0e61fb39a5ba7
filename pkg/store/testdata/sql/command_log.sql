SELECT id, incident_id, version, at, at_ms, actor, action, detail, command_id FROM `riverwatch`.`incident_log` FINAL WHERE command_id = '4f1c2a9e-cmd' ORDER BY at, at_ms, version, id
