SELECT doc FROM `riverwatch`.`incidents` FINAL WHERE id = 'x\' OR 1=1 -- \\\''
