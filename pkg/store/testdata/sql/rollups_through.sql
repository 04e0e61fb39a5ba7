SELECT through, through_ms FROM `riverwatch`.`rollup_progress` FINAL WHERE name = 'rollups'
