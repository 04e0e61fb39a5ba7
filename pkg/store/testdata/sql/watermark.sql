SELECT (SELECT count() FROM `riverwatch`.`events`), (SELECT max(emitted_at) FROM `riverwatch`.`events`),
    (SELECT count() FROM `riverwatch`.`incidents`), (SELECT count() FROM `riverwatch`.`incident_log`)
